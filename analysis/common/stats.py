"""Small statistics used by several reports (least-squares slope and its spread)."""
from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass
class Fit:
    slope: float           # units of y per unit of x
    intercept: float
    slope_stderr: float | None  # None when fewer than 3 points
    n: int


def linear_fit(xs, ys) -> Fit | None:
    """Ordinary least squares y = a + b x. Returns None for fewer than 2 points."""
    n = len(xs)
    if n < 2 or n != len(ys):
        return None
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return None
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
    b = sxy / sxx
    a = my - b * mx
    stderr = None
    if n > 2:
        resid = sum((y - (a + b * x)) ** 2 for x, y in zip(xs, ys))
        stderr = math.sqrt(resid / (n - 2) / sxx)
    return Fit(slope=b, intercept=a, slope_stderr=stderr, n=n)
