"""The counterfactual engine: interval coverage over simulated series with known effects, no
effect found where none is, a placebo date, the public reference series, bad inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis_lib import causal as CI
from analysis_lib.errors import DataError

REF = Path(__file__).resolve().parent.parent / "analysis_lib" / "datasets" / "causalimpact"


def _series(rng, effect: float, T: int = 100, T0: int = 70):
    x = 100 + np.cumsum(rng.normal(0, 1, T))
    y = 1.2 * x + np.cumsum(rng.normal(0, 0.05, T)) + rng.normal(0, 1, T)
    y[T0:] += effect
    return pd.Series(y), pd.DataFrame({"x": x})


def test_cumulative_interval_coverage_over_300_series():
    hits, n = 0, 300
    for i in range(n):
        rng = np.random.default_rng(1000 + i)
        effect = float(rng.choice([0.0, 2.0, 5.0]))
        y, X = _series(rng, effect)
        r = CI.estimate(y, 70, X, n_sims=1000, seed=i)
        hits += r.summary["ci_low"] <= effect * 30 <= r.summary["ci_high"]
    print(f"95% cumulative intervals covered the truth in {hits / n:.1%} of {n} series")
    assert 0.93 <= hits / n <= 0.97


def test_no_effect_interval_covers_zero_and_placebo():
    y, X = _series(np.random.default_rng(7), 0.0)
    r = CI.estimate(y, 70, X)
    assert r.summary["ci_low"] <= 0 <= r.summary["ci_high"]
    p = CI.placebo(y, 70, X)
    assert p["covers_zero"]


def test_cumulative_is_not_a_sum_of_pointwise_bounds():
    y, X = _series(np.random.default_rng(3), 3.0)
    r = CI.estimate(y, 70, X)
    s = r.series
    assert (
        s["cum_effect_hi"].iloc[-1] - s["cum_effect_lo"].iloc[-1]
        < (s["effect_hi"] - s["effect_lo"]).sum()
    )
    assert r.summary["estimate"] == pytest.approx(s["cum_effect"].iloc[-1])


@pytest.mark.parametrize(
    "file, date, y, xs, t, sign",
    [
        ("arma_data.csv", None, "y", ["X"], 70, 1),
        ("google_data.csv", "date", "y", ["x1", "x2"], pd.Timestamp("2020-03-02"), 1),
        (
            "volks_data.csv",
            "Date",
            "VolksWagen",
            ["BMW", "Allianz"],
            pd.Timestamp("2015-09-20"),
            -1,
        ),
    ],
)
def test_reference_series_effect_direction(file, date, y, xs, t, sign):
    """R CausalImpact finds a positive effect in arma and google data and a fall of VolksWagen
    after the emissions scandal; the estimates here have the same sign and size order."""
    s, X = CI.read_series(str(REF / file), date, y, xs)
    r = CI.estimate(s, t, X).summary
    assert sign * r["estimate"] > 0
    if file == "volks_data.csv":
        assert r["ci_high"] < 0 and -0.3 < r["relative"] < -0.15


def test_bad_inputs():
    with pytest.raises(DataError, match="no column 'nope'"):
        CI.read_series(str(REF / "google_data.csv"), "date", "nope", [])
    y, X = _series(np.random.default_rng(0), 0.0)
    with pytest.raises(DataError, match="seasonality of 40 needs at least 80 pre-period points"):
        CI.estimate(y, 70, X, seasonal=40)
    with pytest.raises(DataError, match="need a pre-period and a post-period"):
        CI.estimate(y, 200, X)
