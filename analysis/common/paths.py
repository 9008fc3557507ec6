"""Where things live in the repo; one place so modules and tests agree."""
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "schemas"
BENCH = ROOT / "bench"
CONFIG = ROOT / "config.yaml"


def schema_path(name: str) -> Path:
    return SCHEMAS / f"{name}.schema.json"


def rel_path(p: Path | str, root: Path) -> str:
    """A path as written in doit task definitions: relative to root when inside it (a portable database)."""
    p = Path(p)
    if p.is_absolute() and p.resolve().is_relative_to(root.resolve()):
        return str(p.resolve().relative_to(root.resolve()))
    return str(p)
