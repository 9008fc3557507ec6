"""The browser runs of the pipeline: `wlh browser` on the Step 0 scenarios in headless Chromium (o1js's web
build), traced and not, with and without the what-if that removes the hang; BROWSER.md from their records."""
