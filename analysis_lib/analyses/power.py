"""Experiment planning: sample size, minimum detectable effect and days needed (statsmodels power
classes). Effects are relative to the baseline (0.05 = +5%)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, NamedTuple

from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_effectsize


class Plan(NamedTuple):
    """A plan for a two-sided test of each treatment against control.

    Attributes:
        n_per_variant: units needed in each variant.
        total_units: units needed in all variants.
        days: days of traffic needed at ``daily_units`` (None without traffic).
        mde_rel: the relative effect the plan detects.
    """

    n_per_variant: int
    total_units: int
    days: int | None
    mde_rel: float


def _effect_size(kind: str, baseline: float, mde_rel: float, sd: float | None) -> float:
    if kind == "proportion":
        return abs(proportion_effectsize(baseline * (1 + mde_rel), baseline))
    if sd is None or sd <= 0:
        raise ValueError("a mean metric needs its standard deviation (sd > 0)")
    return abs(baseline * mde_rel) / sd


def sample_size(
    kind: str,
    baseline: float,
    mde_rel: float,
    alpha: float = 0.05,
    power: float = 0.8,
    sd: float | None = None,
    n_variants: int = 2,
    daily_units: float | None = None,
) -> Plan:
    """Units per variant to detect a relative change ``mde_rel`` of ``baseline`` with the given
    power in a two-sided test at ``alpha`` (equal allocation)."""
    es = _effect_size(kind, baseline, mde_rel, sd)
    n = math.ceil(NormalIndPower().solve_power(effect_size=es, alpha=alpha, power=power, ratio=1.0))
    total = n * n_variants
    days = math.ceil(total / daily_units) if daily_units else None
    return Plan(n, total, days, mde_rel)


def mde(
    kind: str,
    baseline: float,
    n_per_variant: float,
    alpha: float = 0.05,
    power: float = 0.8,
    sd: float | None = None,
) -> float:
    """The smallest relative effect detectable with ``n_per_variant`` units in each variant."""
    es = NormalIndPower().solve_power(nobs1=n_per_variant, alpha=alpha, power=power, ratio=1.0)
    if kind == "proportion":
        # invert Cohen's h: h = 2 asin(sqrt(p2)) - 2 asin(sqrt(p1))
        p2 = math.sin(es / 2 + math.asin(math.sqrt(baseline))) ** 2
        return p2 / baseline - 1
    if sd is None or sd <= 0:
        raise ValueError("a mean metric needs its standard deviation (sd > 0)")
    return es * sd / abs(baseline)


@dataclass(frozen=True)
class PlannerSpec:
    """The next test to plan: a ``kind`` of metric at ``baseline``, the relative effect ``mde``
    wanted (0.10 = +10%), the ``power``, the traffic (``daily_units``) and, for a mean, its
    ``sd``."""

    kind: Literal["proportion", "mean"]
    baseline: float
    mde: float
    daily_units: float
    sd: float | None = None
    power: float = 0.8


@dataclass(frozen=True)
class PlannedTest:
    """A planned test: its inputs (``kind``, ``baseline``, ``mde``, ``power``, ``alpha``, ``sd``,
    ``daily_units``, ``variants``) and what it needs (``n_per_variant``, ``total_units``,
    ``days``); results.json records it as it is."""

    kind: Literal["proportion", "mean"]
    baseline: float
    mde: float
    power: float
    alpha: float
    sd: float | None
    daily_units: float
    variants: int
    n_per_variant: int
    total_units: int
    days: int | None


def plan(spec: PlannerSpec, alpha: float, variants: int) -> PlannedTest:
    """:func:`sample_size` for ``spec`` with ``variants`` arms at level ``alpha``."""
    p = sample_size(
        spec.kind, spec.baseline, spec.mde, alpha, spec.power, spec.sd, variants, spec.daily_units
    )
    return PlannedTest(
        spec.kind,
        spec.baseline,
        spec.mde,
        spec.power,
        alpha,
        spec.sd,
        spec.daily_units,
        variants,
        p.n_per_variant,
        p.total_units,
        p.days,
    )
