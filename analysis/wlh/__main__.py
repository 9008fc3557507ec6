"""python -m analysis.wlh ... (the same as the `wlh` console script)."""
from analysis.wlh.cli import main

raise SystemExit(main())
