"""The planner against statsmodels called directly and a textbook figure."""

import pytest
from statsmodels.stats.power import NormalIndPower, TTestIndPower

from analysis_lib.analyses import power


def test_proportion_sample_size_textbook():
    # 10% baseline, +10% relative (10% -> 11%), alpha 0.05 two-sided, 80% power: about 14,750 per arm
    plan = power.sample_size("proportion", 0.10, 0.10, daily_units=1000)
    assert 14_000 <= plan.n_per_variant <= 15_500
    assert plan.total_units == 2 * plan.n_per_variant
    assert plan.days == -(-plan.total_units // 1000)


def test_mean_sample_size_matches_statsmodels():
    plan = power.sample_size("mean", 50.0, 0.05, sd=40.0)
    d = 50.0 * 0.05 / 40.0
    assert plan.n_per_variant == pytest.approx(
        NormalIndPower().solve_power(d, alpha=0.05, power=0.8), abs=1
    )
    assert plan.n_per_variant == pytest.approx(
        TTestIndPower().solve_power(d, alpha=0.05, power=0.8), rel=0.01
    )


@pytest.mark.parametrize("kind,sd", [("proportion", None), ("mean", 30.0)])
def test_mde_inverts_sample_size(kind, sd):
    plan = power.sample_size(kind, 0.2 if kind == "proportion" else 40.0, 0.07, sd=sd)
    got = power.mde(kind, 0.2 if kind == "proportion" else 40.0, plan.n_per_variant, sd=sd)
    assert got == pytest.approx(0.07, rel=0.01)


def test_mean_needs_sd():
    with pytest.raises(ValueError, match="standard deviation"):
        power.sample_size("mean", 10.0, 0.05)


def test_detectable_effect_from_sufficient_stats():
    import pandas as pd

    from analysis_lib.analyses import abtest as A

    ss = pd.DataFrame(
        [
            {"variant": "control", "c__n": 10_000, "c__sy": 1_000.0, "c__syy": 1_000.0},
            {"variant": "t", "c__n": 10_000, "c__sy": 1_100.0, "c__syy": 1_100.0},
        ]
    )
    got = A.detectable_effect(ss, A.MetricDef("c", "proportion"), "control")
    assert got == pytest.approx(power.mde("proportion", 0.1, 10_000))
