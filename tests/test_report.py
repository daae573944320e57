"""Report tables and durations through the presentation layer (present.tables, present.numbers)."""

import pandas as pd
import pytest
from bs4 import BeautifulSoup

from analysis_lib.present import tables
from analysis_lib.present.context import use
from analysis_lib.present.numbers import fmt


def test_table_headers_read_like_words():
    df = pd.DataFrame({"gmv_share": [0.5], "ltv_cac": [2.0], "days_of_supply": [float("inf")]})
    with use(lang="en"):
        html = tables.table(df, {"gmv_share": "pct", "days_of_supply": "ratio"}).markup
    text = BeautifulSoup(html, "html.parser").get_text(" ")  # what a reader sees
    assert "GMV share" in text and "LTV / CAC" in text and "∞" in text and "gmv_share" not in text
    with use(lang="zh"):
        assert "GMV 占比" in tables.table(df).markup


@pytest.mark.parametrize(
    "seconds,en,zh",
    [
        (45, "45 s", "45 秒"),
        (70.2, "1.2 min", "1.2 分钟"),
        (600, "10 min", "10 分钟"),
        (12_345, "3.4 h", "3.4 小时"),
        (3600, "1 h", "1 小时"),
        (200_000, "2.3 d", "2.3 天"),
        (0.4, "0.4 s", "0.4 秒"),
    ],
)
def test_durations_in_the_largest_unit_they_reach(seconds, en, zh):
    """Times to convert read as minutes, hours or days, never as 0.0195 hours or raw seconds."""
    assert fmt(seconds, "duration", "en") == en
    assert fmt(seconds, "duration", "zh") == zh
