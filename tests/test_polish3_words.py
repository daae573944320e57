"""Words a manager noticed on rendered reports (polish round 3), checked without running one:

- the sample shop's regions and categories, and common owner roles, read in the report's language
  (``values.region``, ``values.category``, ``values.owner``); an unknown value stays as written;
- channel and device labels in English are names (``Organic``, ``Mobile web``), never the raw key;
- the market trend chart's alt text says a rank that never changes stays (never "from #1 to #1");
- the product ops rules table has a row for the SKUs left to a decision by hand, so its rows add
  up to every SKU the report counts.
"""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest

from analysis_lib.analyses import product_ops as PO
from analysis_lib.present.context import use
from analysis_lib.present.narrative import market_analysis as NM
from analysis_lib.present.narrative import product_ops as NP
from analysis_lib.present.words import catalog, value

SAMPLE_REGIONS = {
    "East": "华东",
    "South": "华南",
    "North": "华北",
    "West": "西部",
    "Central": "华中",
}


def test_sample_regions_categories_and_owners_read_in_chinese():
    from analysis_lib.sample import config

    assert set(SAMPLE_REGIONS) == set(config.REGIONS)
    for raw, zh in SAMPLE_REGIONS.items():
        assert value("region", raw, "zh") == zh
        assert value("region", raw, "en") == raw
        with use(lang="zh"):  # the market persona's table reads them through its own helper
            assert NM.data_value("region", raw) == zh
    for raw in config.CATEGORIES:  # every category of the sample shop is known, in Chinese
        zh = value("category", raw, "zh")
        assert zh != raw and not any(c.isascii() and c.isalpha() for c in zh), (raw, zh)
        assert value("category", raw, "en") == raw
    assert value("owner", "Head of operations", "zh") == "运营负责人"
    # an unknown value is the data's own name: shown as written, never guessed
    with use(lang="zh"):
        assert NM.data_value("region", "Lunar Base") == "Lunar Base"
        assert NM.cat("Garden gnomes") == "Garden gnomes"
        assert value("owner", "Ms Li") == "Ms Li"


def test_english_channel_and_device_labels_are_not_the_raw_keys():
    for k, entry in catalog().items():
        if k.startswith(("values.channel.", "values.device.")):
            raw = k.split(".", 2)[2]
            if raw.startswith("("):
                continue  # "(none)": a placeholder, not a key
            assert entry["en"] != raw and entry["en"][:1].isupper(), (k, entry["en"])


@pytest.mark.parametrize(
    ("ranks", "en", "zh"),
    [
        ([1, 1, 1, 1], "#1 in every month", "每月均为第 1 名"),
        ([float("nan"), 2, 2], "#2 in every month", "每月均为第 2 名"),
        ([3, 2, 1], "from #3 to #1", "从第 3 名到第 1 名"),
        ([2, 1, 3, 2], "#2 in the first and the last month, #1 to #3 in between", None),
    ],
)
def test_rank_in_the_trend_alt_says_when_it_stays(ranks, en, zh):
    window = pd.DataFrame(
        {
            "market_size": [100.0] * len(ranks),
            "our_share": [0.2] * len(ranks),
            "our_rank": ranks,
        }
    )
    s = SimpleNamespace(months=tuple(f"2025-{i + 1:02d}" for i in range(len(ranks))))
    for lang, want in (("en", en), ("zh", zh)):
        with use(lang=lang, currency="CNY"):
            alt = NM.trend_alt(s, window)
        if want:
            assert want in alt, alt
        assert "#1 to #1" not in alt and "第 1 名 至 第 1 名" not in alt
        assert "第 2 名 至 第 2 名" not in alt and "from #2 to #2" not in alt


def test_rules_table_lists_the_skus_left_to_a_decision_by_hand():
    """With costs known, class A or B slow movers below the median margin are "clear or delist":
    the table had no row for them (194 of 200 SKUs); every counted SKU is now in a row."""
    counts = {
        "restock": 2,
        "clear (promotion / live stream)": 23,
        "delist": 22,
        "clear or delist": 6,
        "bundle": 49,
        "keep": 98,
    }
    have = {"inventory": True, "cost": True}
    for lang in ("en", "zh"):
        with use(lang=lang, currency="CNY"):
            rt = NP.rules_table(have, counts, 30, 7, 0.376)
            manual = NP.action_label("clear or delist")
        assert rt["skus"].sum() == sum(counts.values())
        row = rt.set_index("action").loc[manual]
        assert row["skus"] == 6 and row["rule"]  # with the reason it is left to a person
    # none left undecided: no empty row for it
    with use(lang="en"):
        rt = NP.rules_table(have, counts | {"clear or delist": 0}, 30, 7, 0.376)
        assert NP.action_label("clear or delist") not in set(rt["action"])
    assert set(PO.ACTIONS) == set(counts)
