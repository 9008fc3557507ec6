"""Text views of a ParseResult: the check summary and the never-dropped tables (tabulate)."""
from __future__ import annotations

from tabulate import tabulate

from analysis.parse.result import CHECKS, ParseResult


def _n(x: int) -> str:
    return f"{x:,}"


def format_checks(result: ParseResult) -> str:
    ev = result.events
    out = [
        f"{result.source}: {_n(result.lines_total)} lines: {_n(result.event_lines)} events, "
        f"{_n(result.noise_lines)} noise, {_n(result.malformed_lines)} malformed, "
        f"{_n(result.truncated_lines)} truncated",
        "events: " + ", ".join(f"{k} {_n(v)}" for k, v in ev.items()),
        f"never dropped: {_n(result.totals['never_dropped'])} of {_n(ev['ALLOCATE'])} ALLOCATEs, "
        f"{_n(result.totals['never_dropped_bytes'])} bytes",
        "checks:",
    ]
    for name, t in result.checks.items():
        why = f"  ({CHECKS[name]})" if t.count else ""
        out.append(f"  {'FAIL' if t.count else 'ok  '} {name}: {_n(t.count)}{why}")
        for e in t.examples:
            out.append(f"         {'line ' + str(e.line) if e.line is not None else '-'}: {e.detail}")
        if t.count > len(t.examples) and t.examples:
            out.append(f"         ... {_n(t.count - len(t.examples))} more")
    return "\n".join(out)


def format_table(result: ParseResult) -> str:
    """Per type: allocated, dropped, never dropped (count, bytes, share of all never-dropped bytes)."""
    rows = [(r.type, r.allocated, r.dropped, r.never_dropped, r.never_dropped_bytes, f"{100 * r.share:.1f} %")
            for r in result.types]
    t = result.totals
    rows.append(("TOTAL", result.events["ALLOCATE"], result.events["DROP"], t["never_dropped"],
                 t["never_dropped_bytes"], "100.0 %" if t["never_dropped_bytes"] else "0.0 %"))
    return tabulate(rows, headers=["type", "allocated", "dropped", "never dropped", "never-dropped bytes", "share"],
                    intfmt=",", colalign=("left", "right", "right", "right", "right", "right"))


def format_type_sites(result: ParseResult, limit: int | None = 20) -> str:
    """Never-dropped bytes per (type, creation site), largest first, with the site's JS/Rust location."""
    rows = []
    for r in result.type_sites[:limit]:
        info = result.sites.get(r.site, {}) if r.site is not None else {}
        where = " / ".join(str(info[k]) for k in ("js", "rust", "alloc_fn") if info.get(k)) or (
            "(no site)" if r.site is None else "(undefined site)")
        rows.append((r.type, "-" if r.site is None else r.site, r.count, r.bytes, f"{100 * r.share:.1f} %", where))
    text = tabulate(rows, headers=["type", "site", "never dropped", "bytes", "share", "where"], intfmt=",")
    more = len(result.type_sites) - len(rows)
    return text + (f"\n... {more} more (type, site) rows" if more > 0 else "")
