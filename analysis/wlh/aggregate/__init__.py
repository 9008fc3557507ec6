"""`wlh run --aggregate`: the tracer's events reduced to live tables while the program runs (table, stream),
and those tables read back into the Step 3 figures (overlay)."""
