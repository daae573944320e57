"""Always-valid inference for experiments that are looked at every day.

Asymptotic confidence sequences (Waudby-Smith, Ramdas et al., "Time-uniform central limit theory
and asymptotic confidence sequences", 2023; the normal-mixture boundary of Howard et al. 2021), as
GrowthBook's sequential testing uses them. No well-kept Python library implements them, so they are
written here and checked by simulation (tests/test_sequential.py): with a look every day the
false-positive rate stays at or below alpha.

For an estimate whose variance is ``var`` from ``n`` units in all, the half-width at level alpha is

    sqrt(n * var) * sqrt( 2 (n rho^2 + 1) / (n^2 rho^2) * log( sqrt(n rho^2 + 1) / alpha ) )

where ``rho`` tunes where the sequence is tightest; :func:`rho_for` makes it tightest at the planned
sample size.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import brentq


def rho_for(planned_n: float, alpha: float = 0.05) -> float:
    """The tuning parameter that makes the sequence tightest at ``planned_n`` units."""
    la = -2 * math.log(alpha)
    return math.sqrt((la + math.log(la + 1)) / planned_n)


def halfwidth(var: np.ndarray | float, n: np.ndarray | float, alpha: float, rho: float):
    """Half-width of the confidence sequence for an estimate with variance ``var`` from ``n``
    units (see the module docstring)."""
    n = np.asarray(n, dtype=float)
    nr2 = n * rho**2
    return np.sqrt(n * np.asarray(var, dtype=float)) * np.sqrt(
        2 * (nr2 + 1) / (n**2 * rho**2) * np.log(np.sqrt(nr2 + 1) / alpha)
    )


def p_value(estimate: float, var: float, n: float, rho: float) -> float:
    """Always-valid p-value: the smallest alpha at which the sequence excludes zero."""
    if var <= 0 or n <= 0 or not np.isfinite(estimate):
        return float("nan")

    def gap(alpha: float) -> float:
        return float(halfwidth(var, n, alpha, rho)) - abs(estimate)

    if gap(1.0) > 0:  # not excluded even at alpha = 1
        return 1.0
    if gap(1e-15) <= 0:
        return 1e-15
    return float(brentq(gap, 1e-15, 1.0))
