"""The guard (bench/guard/guard.cjs) seen from Python: its overhead benchmark."""
