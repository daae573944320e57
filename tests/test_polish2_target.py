"""Target setting with months of the target year already in the data: P(reach target) adds the
actual year to date to the forecast of the remaining months, with its uncertainty (the forecast
alone gave 27.9% on CDNOW beside a -26.9% gap to date). Checked against a closed form on
independent normal months and, on CDNOW, against a computation from the plan's own draws."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis_lib.analyses import target_setting as T
from analysis_lib.present.context import use
from analysis_lib.present.narrative import target_setting as N
from analysis_lib.present.numbers import fmt
from analysis_lib.present.reports import target_setting as R
from tests.test_runner import ROOT


def _normal_forecast(n: int = 200_000, mu: float = 100.0, sd: float = 10.0) -> T.Forecast:
    months = T.target_months(2026)
    rng = np.random.default_rng(7)
    paths = rng.normal(mu, sd, (n, 12))
    table = pd.DataFrame({"median": mu, "ci_low": mu - sd, "ci_high": mu + sd}, index=months)
    return T.Forecast(table, paths, 0.8, "normal", None)


@pytest.mark.parametrize(
    ("actual_each", "target"), [(90.0, 1200.0), (110.0, 1200.0), (95.0, 1150.0)]
)
def test_p_reach_adds_the_actual_to_the_forecast_of_the_rest(actual_each, target):
    """Months N(100, 10) each, independent: with six months in at ``actual_each``, the year
    reaches ``target`` when the other six bring target - 6 x actual_each; their sum is N(600,
    10 sqrt 6), so P = 1 - Phi((target - 6 actual_each - 600) / (10 sqrt 6))."""
    fc = _normal_forecast()
    months = fc.table.index
    actual = pd.Series(np.nan, index=months)
    actual.iloc[:6] = actual_each
    monthly = pd.Series(target / 12, index=months)
    y = T.year_to_date(fc, months, monthly, actual, target)
    need = target - 6 * actual_each
    expect = 1 - stats.norm.cdf((need - 600.0) / (10.0 * np.sqrt(6)))
    assert y.p_reach == pytest.approx(expect, abs=0.004)
    assert y.outlook == pytest.approx(6 * actual_each + y.rest_forecast)
    assert y.outlook_lo < y.outlook < y.outlook_hi
    # the forecast alone knows nothing of the actual: its figure is another one
    alone = T.feasibility(fc, target, months).p_reach
    assert abs(alone - expect) > 0.05


def test_cdnow_card_and_results_give_the_probability_with_the_year_so_far():
    from analysis_lib.core import data

    src = data.connect(str(ROOT / "analysis_lib/datasets/cdnow_master"))
    p = T.plan(src, "1997-01-01", "1997-12-31", 1998, 1_200_000, seasonal=False)
    y = p.ytd
    assert y is not None and y.months == 6  # CDNOW runs to 1998-06
    # independently: the actual of the six months plus each path's other six months
    got = float(p.actual.loc[p.months[:6]].sum())
    rest = p.forecast.paths[:, p.forecast.table.index.isin(p.months[6:])].sum(axis=1)
    expect = float(((got + rest) >= 1_200_000).mean())
    assert y.p_reach == pytest.approx(expect)
    assert expect != pytest.approx(p.feasibility.p_reach, abs=0.01)  # not the forecast alone
    figs = R.figures(p, False)
    assert figs["p_reach_target"] == pytest.approx(expect)
    assert figs["p_reach_baseline"] == pytest.approx(p.feasibility.p_reach)
    # the median end of the year and the probability agree in their side of the target
    assert (figs["p_reach_target"] < 0.5) == (figs["target_total"] > figs["outlook_total"])
    for lang in ("en", "zh"):
        with use(lang=lang, currency="USD"):
            card = {c.key: c for c in N.cards(p, "")}["p_reach_target"]
            assert card.value == fmt(expect, "pct")
            # the note says why: the year's median end with the actual, and the forecast alone
            assert N.money(y.outlook) in card.unit
            assert fmt(p.feasibility.p_reach, "pct") in card.unit
            assert any(card.value in f and N.money(y.outlook) in f for f in N.findings(p))
