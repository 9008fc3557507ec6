"""The capped cells of the crash horizon: a matrix cell (its matrix runs make the prediction), a cap and a
maximum number of proofs. config `crash.cells` maps `<matrix cell>` (capped at crash.cap_mib) or
`<matrix cell>@<cap MiB>` (another cap for the same cell) to the maximum number of proofs."""
from __future__ import annotations

from dataclasses import dataclass

from analysis.common.config import Config, ConfigError
from analysis.matrix.cells import Cell, parse_cell


@dataclass(frozen=True)
class CrashCell:
    cell: Cell
    cap_mib: float
    max_proofs: int
    default_cap: bool = True   # capped at crash.cap_mib: its id is the matrix cell's (paths stay as they were)

    @property
    def name(self) -> str:
        return self.cell.name + ("" if self.default_cap else f"@{self.cap_mib:g}")

    @property
    def id(self) -> str:
        return self.cell.id + ("" if self.default_cap else f"-cap{self.cap_mib:g}")

    @property
    def mitigation(self) -> str | None:
        return self.cell.mitigation


def crash_cells(cfg: Config, matrix_cells: list[Cell]) -> list[CrashCell]:
    out = []
    for text, max_proofs in cfg["crash"]["cells"].items():
        cell_text, _, cap_text = text.partition("@")
        cell = parse_cell(cell_text, "crash.cells")
        if cell not in matrix_cells:
            raise ConfigError(f"crash.cells: {cell_text} is not a cell of the matrix (its matrix runs make the "
                              f"prediction): add it to matrix.extra_cells or matrix.whatif")
        try:
            cap = float(cap_text) if cap_text else cfg["crash"]["cap_mib"]
            cap = int(cap) if float(cap).is_integer() else cap   # 800, not 800.0: it is part of the run's command
        except ValueError:
            raise ConfigError(f"crash.cells: '{text}': the cap after @ must be a number of MiB") from None
        if not 1 < cap <= 4096:
            raise ConfigError(f"crash.cells: '{text}': cap {cap:g} MiB is outside 1..4096")
        out.append(CrashCell(cell, cap, int(max_proofs), default_cap=not cap_text))
    return out
