"""Formatting helpers shared by the reports."""
MiB = 2 ** 20


def mib(b, digits: int = 1) -> str:
    return "n/a" if b is None else f"{b / MiB:.{digits}f}"


def signed_mib(b, digits: int = 1) -> str:
    return "n/a" if b is None else f"{b / MiB:+.{digits}f}"


def pct(x, digits: int = 1) -> str:
    return "n/a" if x is None else f"{100 * x:.{digits}f} %"
