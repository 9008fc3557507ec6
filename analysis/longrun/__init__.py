"""A long traced run (issue 23): one `wlh run` of a Step 0 scenario for many proofs, made as a documented
one-off (`python -m analysis.longrun.run`, DEV.md), its figures summarised by the pipeline (`doit longrun_report`)
from the committed run files: the live-heap rate over the whole run and per window, disk per proof, and what
the forecaster said from the first proofs against what the run then saw."""
