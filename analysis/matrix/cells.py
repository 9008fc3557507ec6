"""The cells of the release matrix (issue 8): which o1js release, scenario and worker count to run, and
which "what if" mitigation, if any, to apply. A cell is named `<version>/<scenario>/w<workers>`, with
`+<mitigation>` for a what-if cell; its id (used in task names and paths) is the same with `-` for `/`."""
from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import product

from analysis.common.config import Config, ConfigError

_CELL = re.compile(r"^(?P<version>[0-9]+\.[0-9]+\.[0-9]+)/(?P<scenario>[a-z]+)/w(?P<workers>[0-9]+)"
                   r"(?:\+(?P<mitigation>[a-z0-9-]+))?$")


@dataclass(frozen=True, order=True)
class Cell:
    version: str
    scenario: str
    workers: int
    mitigation: str | None = None

    @property
    def name(self) -> str:
        return f"{self.version}/{self.scenario}/w{self.workers}" + (f"+{self.mitigation}" if self.mitigation else "")

    @property
    def id(self) -> str:
        return self.name.replace("/", "-")

    @property
    def base(self) -> "Cell":
        """The same cell without mitigation: what a what-if cell is compared with."""
        return Cell(self.version, self.scenario, self.workers)

    def params(self) -> dict:
        return {"version": self.version, "scenario": self.scenario, "workers": self.workers,
                "mitigation": self.mitigation}


def parse_cell(text: str, origin: str = "matrix") -> Cell:
    m = _CELL.match(text)
    if not m:
        raise ConfigError(f"{origin}: '{text}' is not a cell (expected <version>/<scenario>/w<workers>"
                          f"[+<mitigation>], e.g. 2.15.0/trivial/w1)")
    return Cell(m["version"], m["scenario"], int(m["workers"]), m["mitigation"])


def cells(cfg: Config) -> list[Cell]:
    """Every cell the config asks for: versions x scenarios x workers, the extra cells, then the what-if
    cells. Errors name the offending entry."""
    m = cfg["matrix"]
    out = [Cell(v, s, w) for v, s, w in product(m["versions"], m["scenarios"], m["workers"])]
    for text in m["extra_cells"]:
        c = parse_cell(text, "matrix.extra_cells")
        if c.mitigation:
            raise ConfigError(f"matrix.extra_cells: '{text}' names a mitigation; list it in matrix.whatif")
        out.append(c)
    known = cfg["mitigations"]
    for text in m["whatif"]:
        c = parse_cell(text, "matrix.whatif")
        if not c.mitigation:
            raise ConfigError(f"matrix.whatif: '{text}' names no mitigation (add +<name>)")
        if c.mitigation not in known:
            raise ConfigError(f"matrix.whatif: '{text}': no mitigation '{c.mitigation}' under `mitigations` "
                              f"(known: {', '.join(sorted(known)) or 'none'})")
        if c.base not in out:
            raise ConfigError(f"matrix.whatif: '{text}' needs its plain cell '{c.base.name}' in the matrix "
                              f"(the rate before the mitigation is measured there)")
        out.append(c)
    for c in out:
        if c.scenario not in ("trivial", "recursive"):
            raise ConfigError(f"matrix: cell '{c.name}': unknown scenario '{c.scenario}'")
    seen = set()
    unique = []
    for c in out:
        if c not in seen:
            seen.add(c)
            unique.append(c)
    return unique


def versions(cells_: list[Cell]) -> list[str]:
    return sorted({c.version for c in cells_}, key=lambda v: tuple(map(int, v.split("."))), reverse=True)
