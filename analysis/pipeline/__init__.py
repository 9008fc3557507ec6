"""The pipeline's committed state (lock) and the steps that read it; see graph.py."""
