"""The shop's calendar: relative traffic per day (growth, weekly and yearly seasonality) and the
day ranges of each campaign's phases, plus the small sampling helpers every table uses."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis_lib.sample.config import (
    CAMPAIGN_EFFECT,
    CAMPAIGNS,
    END,
    GROWTH_PER_YEAR,
    N_DAYS,
    START,
    WEEKEND_MULT,
    YEARLY_AMPLITUDE,
    YEARLY_PEAK_DOY,
)


@dataclass
class Calendar:
    day_weight: np.ndarray  # relative traffic per day
    cdf: np.ndarray
    phase: dict  # campaign_id -> dict of day-index ranges


def calendar() -> Calendar:
    """Traffic per day and the campaigns' phases (pre-heat, burst, return, post) as day indexes."""
    days = pd.date_range(START, END, freq="D")
    t_years = np.arange(N_DAYS) / 365.25
    trend = 1 + GROWTH_PER_YEAR * t_years
    weekly = np.where(days.dayofweek >= 5, WEEKEND_MULT, 1.0)
    yearly = 1 + YEARLY_AMPLITUDE * np.cos(
        2 * np.pi * (days.dayofyear.values - YEARLY_PEAK_DOY) / 365.25
    )
    w = trend * weekly * yearly
    cdf = np.cumsum(w) / w.sum()
    phase = {}
    for cid, _, pre, b0, b1, end, _ in CAMPAIGNS:
        idx = {
            k: (pd.Timestamp(v) - START).days
            for k, v in dict(pre=pre, b0=b0, b1=b1, end=end).items()
        }
        phase[cid] = {
            "preheat": (idx["pre"], idx["b0"] - 1),
            "burst": (idx["b0"], idx["b1"]),
            "return": (idx["b1"] + 1, idx["end"]),
            "post": (idx["end"] + 1, idx["end"] + CAMPAIGN_EFFECT["post_window_days"]),
        }
    return Calendar(w, cdf, phase)


def day_in(days: np.ndarray, rng: tuple[int, int]) -> np.ndarray:
    """Which of ``days`` (day indexes) fall in the inclusive range ``rng``."""
    return (days >= rng[0]) & (days <= rng[1])


def day_index(date: str) -> int:
    """A date's day index from the calendar's start."""
    return (pd.Timestamp(date) - START).days


def hour_profile() -> np.ndarray:
    """Probability of each second of a day for a session's start: an evening peak and a lunch one."""
    h = np.arange(24)
    w = 0.3 + np.exp(-((h - 21) ** 2) / 8) + 0.6 * np.exp(-((h - 12) ** 2) / 6)
    return np.repeat(w / w.sum() / 3600, 3600)


def choice_weighted(rng, weights: np.ndarray, size: int) -> np.ndarray:
    """``size`` indexes drawn with ``weights`` (not normalised); one uniform draw each, which is
    faster than ``rng.choice`` with ``p`` for thousands of SKUs."""
    cdf = np.cumsum(weights)
    cdf /= cdf[-1]
    return np.minimum(np.searchsorted(cdf, rng.random(size), side="right"), len(weights) - 1)
