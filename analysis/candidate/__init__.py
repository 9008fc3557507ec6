"""A candidate fix checked end to end: built as an o1js tarball from the installed release by our generator
(bench/candidates/), traced with `wlh run` beside the release, judged by `wlh compare`; a SUMMARY.md section."""
