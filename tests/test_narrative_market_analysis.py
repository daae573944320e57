"""Golden text of the market report's narrative, in both languages, from a small typed result
built here: the exact sentences a manager reads (cards, findings, what to do), so a change of
wording or of a figure's format is a deliberate edit of this file."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from analysis_lib.analyses.market import CategoryMatrix, MarketSummary, ShareLoss
from analysis_lib.present.context import use
from analysis_lib.present.narrative import market_analysis as N


def _results():
    """A market of CN¥1.25M, +10% on a year earlier; our share fell from 25% to 20% and we
    dropped from #1 to #2. Toys (the market's growth) lost us 5 pp of share, worth CN¥50,000."""
    s = MarketSummary(
        months=("2025-01", "2025-02", "2025-03"),
        our_brand="OurShop",
        market_size=1_250_000.0,
        market_growth_yoy=0.1,
        our_sales=250_000.0,
        our_share=0.2,
        our_rank=2,
        our_share_prev=0.25,
        our_rank_prev=1,
        cr3=0.6,
        cr5=0.8,
        hhi=1800.0,
        brands=6,
    )
    table = pd.DataFrame(
        {
            "category": ["Toys", "Books"],
            "market_size": [1_000_000.0, 250_000.0],
            "growth_yoy": [0.15, -0.05],
            "growth_contribution": [0.1154, -0.0115],
            "our_share": [0.15, 0.4],
            "our_share_prev": [0.2, 0.35],
            "share_change": [-0.05, 0.05],
            "quadrant": ["opportunity", "defend"],
        }
    )
    losses = [ShareLoss("Toys", 0.15, 0.15, 0.2, -0.05, 50_000.0)]
    return s, CategoryMatrix(table, 0.1, 0.2), losses


GOLDEN = {
    "en": {
        "cards": [
            (
                "Market size",
                "CN¥1.25M",
                "2025-01 – 2025-03 · 6 brands",
                "+10.0% vs a year earlier",
                "good",
            ),
            (
                "Our share",
                "20.0%",
                "OurShop: our sales CN¥250,000",
                "−5.0 pp vs a year earlier",
                "bad",
            ),
            ("Our rank", "#2", "of 6 brands, by sales", "from #1 a year earlier", "bad"),
            (
                "Concentration (HHI)",
                "1,800",
                "moderately concentrated · CR3 60.0% · CR5 80.0%",
                "",
                "neutral",
            ),
        ],
        "findings": [
            "The market was CN¥1.25M over 2025-01 – 2025-03, +10.0% on the same months a year earlier.",
            "OurShop holds 20.0% of it (−5.0 pp on a year earlier) and ranks #2 of 6 brands.",
            "Growth came mostly from Toys: +11.5 pp of the market's +10.0%.",
            "Books shrank (−5.0%).",
            "Our share rose most in Books (+5.0 pp) and fell most in Toys (−5.0 pp).",
            "Concentration: CR3 60.0%, CR5 80.0%, HHI 1,800 (moderately concentrated).",
            "Growing categories where our share fell: 1; most at stake in Toys (CN¥50,000 of sales at last year's share).",
            "Best opportunity: Toys, growing +15.0% while our share there is only 15.0%.",
        ],
        "actions": [
            "Win back share in Toys: the market grew +15.0% but our share fell by 5.0 pp to 15.0%; CN¥50,000 of sales at last year's share.",
            "Grow in Toys: it grows +15.0%, faster than the market's +10.0%, and our share there is 15.0%, below our 20.0% overall.",
        ],
        "compared": "the same months a year earlier (2024-01 – 2024-03)",
    },
    "zh": {
        "cards": [
            ("市场规模", "¥125.0万", "2025-01 至 2025-03 · 6 个品牌", "较去年同期 +10.0%", "good"),
            ("我方份额", "20.0%", "OurShop：我方销售额 ¥25.0万", "较去年同期 −5.0 个百分点", "bad"),
            ("我方排名", "第 2 名", "共 6 个品牌，按销售额", "去年同期 第 1 名", "bad"),
            ("集中度（HHI）", "1,800", "中度集中 · CR3 60.0% · CR5 80.0%", "", "neutral"),
        ],
        "findings": [
            "2025-01 至 2025-03 市场规模 ¥125.0万，较去年同期 +10.0%。",
            "OurShop 份额 20.0%（较去年同期 −5.0 个百分点），在 6 个品牌中排第 2 名。",
            "市场增长主要来自玩具：贡献了 +10.0% 中的 +11.5 个百分点。",
            "图书萎缩（−5.0%）。",
            "我方份额在图书提升最多（+5.0 个百分点），在玩具下降最多（−5.0 个百分点）。",
            "集中度：CR3 60.0%，CR5 80.0%，HHI 1,800（中度集中）。",
            "市场增长而我方份额下降的品类：1 个；玩具损失最大（按去年份额计少卖 ¥5.00万）。",
            "最大机会：玩具，增速 +15.0%，而我方份额仅 15.0%。",
        ],
        "actions": [
            "夺回玩具的份额：市场增长 +15.0%，我方份额却下降 5.0 个百分点，降至 15.0%；按去年份额计少卖 ¥5.00万。",
            "加码玩具：该品类增速 +15.0%，高于市场的 +10.0%，而我方份额 15.0%，低于整体的 20.0%。",
        ],
        "compared": "去年同期（2024-01 至 2024-03）",
    },
}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_golden_text(lang):
    s, m, losses = _results()
    g = GOLDEN[lang]
    with use(lang=lang, currency="CNY"):
        cards = [(c.label, c.value, c.unit, c.change, c.tone) for c in N.cards(s)]
        assert cards == g["cards"]
        assert N.findings(s, m, losses) == g["findings"]
        assert [a.text for a in N.actions(s, m, losses)] == g["actions"]
        assert N.compared_text(s) == g["compared"]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_no_action_says_why(lang):
    """Our share rising everywhere and no opportunity: no action, and the report says which rules
    found nothing; without a year earlier, it says growth cannot be measured."""
    s, m, _ = _results()
    calm = CategoryMatrix(m.table.assign(quadrant=["star", "defend"]), 0.1, 0.2)
    with use(lang=lang, currency="CNY"):
        assert N.actions(s, calm, []) == []
        reason = N.no_action_reason(s)
        assert reason == N.w("action.none") and reason
        blind = dataclasses.replace(
            s, market_growth_yoy=None, our_share_prev=None, our_rank_prev=None
        )
        assert N.no_action_reason(blind) == N.w("action.none_no_prev")
        assert N.findings(blind, calm, [])[0] == (
            "The market was CN¥1.25M over 2025-01 – 2025-03 (no year-earlier data, so no growth)."
            if lang == "en"
            else "2025-01 至 2025-03 市场规模 ¥125.0万（无去年同期数据，无法计算增长）。"
        )
        rank = N.cards(blind)[2]
        assert rank.change == "" and rank.direction is None


def test_a_climb_to_first_is_good_news():
    """A lower rank is better: climbing from #4 to #1 is an up arrow in green."""
    s, _, _ = _results()
    with use(lang="en", currency="CNY"):
        rank = N.cards(dataclasses.replace(s, our_rank=1, our_rank_prev=4))[2]
    assert (rank.value, rank.change, rank.direction, rank.tone) == (
        "#1",
        "from #4 a year earlier",
        "up",
        "good",
    )
