"""Where things live in the repo; one place so modules and tests agree."""
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "schemas"
BENCH = ROOT / "bench"
CONFIG = ROOT / "config.yaml"


def schema_path(name: str) -> Path:
    return SCHEMAS / f"{name}.schema.json"
