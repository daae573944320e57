"""A series without dates (intervention impact on an ARMA series, R's own example) reads by its
points: the title line says "points 0–99 (100 observations, no dates)", never "series 0 – 99"
(which reads as a range of values), and the chart's alt text names the start as "point 70",
never a bare "on 70"; dated series read as before."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest

from analysis_lib.present.charts import impact as CI
from analysis_lib.present.context import use
from analysis_lib.present.narrative import intervention_impact as NV
from tests.test_narrative_impact import GOOGLE, MODEL, PLACEBO_OK


def undated(points: int = 100, start: int = 70) -> NV.Case:
    idx = pd.RangeIndex(points)
    imp = SimpleNamespace(
        summary=GOOGLE,
        model=MODEL,
        series=pd.DataFrame(index=idx[start:]),
        pre_fit=pd.DataFrame(index=idx[:start]),
        alpha=0.05,
    )
    return NV.Case(imp, PLACEBO_OK, "y", "70", ["X"])


@pytest.mark.parametrize(
    ("lang", "want"),
    [
        ("en", "y · intervention at point 70 · points 0–99 (100 observations, no dates)"),
        ("zh", "y · 干预时点 第 70 个时间点 · 第 0–99 个时间点（共 100 个观测，无日期）"),
    ],
)
def test_an_undated_series_reads_by_its_points(lang, want):
    c = undated()
    with use(lang=lang):
        assert NV.period(c) == want
        alt = CI.alt_text(c.impact, "y", "intervention")
    assert {"en": "after the start (point 70)", "zh": "第 70 个时间点"}[lang] in alt
    assert "series 0" not in want and "序列 0" not in want


def test_a_dated_series_reads_by_its_dates():
    from tests.test_narrative_impact import case

    c = case(GOOGLE)
    with use(lang="en"):
        assert NV.period(c) == "y · intervention at 2020-03-02 · series 2020-01-01 – 2020-03-31"
        alt = CI.alt_text(c.impact, "y", "intervention")
    assert "after the start (2020-03-02)" in alt
