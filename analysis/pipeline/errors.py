"""User mistakes reach the user as one line, not as a traceback from inside doit's loader."""
from __future__ import annotations

import sys
from typing import Callable, TypeVar

from analysis.common.config import ConfigError
from analysis.common.paths import ROOT
from analysis.pipeline.lock import LockError

T = TypeVar("T")


def load_config_or_exit(load: Callable[[], T]) -> T:
    """Call load(); on a config or lock error print `pipeline: error: ...` and exit 2 (doit does not catch
    SystemExit, so nothing else is printed)."""
    try:
        return load()
    except (ConfigError, LockError) as e:
        print(f"pipeline: error: {one_line(str(e))}", file=sys.stderr)
        raise SystemExit(2) from None


def one_line(message: str) -> str:
    """Multi-line messages (a list of schema errors) folded onto one line, repo paths made relative."""
    message = message.replace(str(ROOT) + "/", "")
    parts = [part.strip() for part in message.splitlines() if part.strip()]
    return " ".join(p if p.endswith(":") or i == len(parts) - 1 else p + ";" for i, p in enumerate(parts))
