"""wasm-leak-hunt: the pipeline's logic. dodo.py only declares tasks that call into this package."""
