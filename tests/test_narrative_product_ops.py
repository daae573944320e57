"""Golden text of the product operations narrative in both languages, from a small typed result
built here: cards, findings, What to do (restock first, the SKUs named, the rule beside each)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis_lib.analyses import product_ops as PO
from analysis_lib.present.context import use
from analysis_lib.present.narrative import product_ops as N

ALL = {"cost": True, "inventory": True}


def summary(**changes) -> PO.Summary:
    base = dict(
        skus_sold=90,
        skus_in_catalogue=120,
        skus_on_sale=100,
        sell_through_rate=0.85,
        inventory_turnover=2.5,
        inventory_days=36.4,
        slow_movers=12,
        stockout_risk_skus=2,
        gross_margin=0.391,
        negative_stock_rows=0,
        sold_on_sale=85,
        a_skus=24,
        median_margin=0.376,
    )
    return PO.Summary(**(base | changes))


def skus() -> pd.DataFrame:
    """Two SKUs to restock (one out of stock), ten to delist, one to bundle, in no order."""
    rows = [("B1", "bundle", 5.0, 40.0, 12.0)]
    rows += [(f"D{i:02d}", "delist", 3.0, np.inf, float(i)) for i in range(10)]
    rows += [("R2", "restock", 4.0, 3.2, 50.0), ("R1", "restock", 0.0, 0.0, 80.0)]
    rows += [("K1", "keep", 9.0, 20.0, 500.0)]
    return pd.DataFrame(rows, columns=["sku", "action", "on_hand", "days_of_supply", "revenue"])


COUNTS = {"keep": 1, "delist": 10, "restock": 2, "bundle": 1}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_what_to_do_restocks_first_and_names_the_skus(lang):
    plan = PO.action_plan(skus())
    with use(lang=lang, currency="CNY"):
        got, none = N.actions(plan, 30, 7, 0.376)
    want = {
        "en": [
            (
                "Restock 2 SKUs now: R1 (out of stock), R2 (3.2 days of supply).",
                "fewer days of supply than the 7-day lead time, or out of stock, with sales in "
                "the last 30 days",
            ),
            (
                "Delist 10 slow movers: D09, D08, D07, D06, D05, D04, D03, D02 and 2 more "
                "(all in the SKU table below).",
                "in stock, no sale in the last 30 days, class C (the last 5% of revenue) and "
                "gross margin below the median (37.6%; at list price for a SKU without a sale in "
                "the period)",
            ),
            (
                "Bundle 1 class-C SKU that still sells with an A item: B1.",
                "class C (the last 5% of revenue) and still selling: bundle with an A item",
            ),
        ],
        "zh": [
            (
                "立即补货 2 个 SKU：R1（已断货）、R2（可售 3.2 天）。",
                "可售天数低于 7 天补货周期或已断货，且近 30 天有销售",
            ),
            (
                "下架 10 个滞销 SKU：D09、D08、D07、D06、D05、D04、D03、D02 等，另有 2 个（均见下方 SKU 表）。",
                "有库存、近 30 天无销售，属 C 类（销售额最后 5%）且毛利率低于中位数"
                "（37.6%；统计期内无销售的 SKU 按标价毛利率计）",
            ),
            (
                "将 1 个仍有销售的 C 类 SKU 与 A 类商品搭配销售：B1。",
                "C 类（销售额最后 5%）且仍有销售：与 A 类商品搭配销售",
            ),
        ],
    }
    assert [(a.text, a.rule) for a in got] == want[lang] and none == ""


def test_no_action_says_why():
    with use(lang="zh"):
        assert N.actions([], 30, 7, 0.3) == (
            [],
            "所有 SKU 均保持现状：没有断货风险、滞销或 C 类在售商品",
        )
    with use(lang="en"):  # without stock levels no SKU can be found to restock: said so
        assert N.actions([], 30, 7, 0.3, {"inventory": False, "cost": True})[1] == (
            "none of the rules the shop's data supports picked a SKU; the others need data the "
            "shop lacks (see Recommended actions)"
        )


FINDINGS = {
    "en": [
        "Sell-through rate 85.0%: 85 of 100 SKUs on sale sold in the period.",
        "24 A-class SKUs (20.0% of SKUs) make 80% of revenue.",
        "12 slow movers hold stock without a sale in the last 30 days: 2 to clear and 10 to "
        "delist by their margin and class.",
        "2 SKUs that sold in the last 30 days are out of stock or will run out within the 7-day "
        "lead time: restock them first.",
        "Inventory turns 2.50 times in the period (about 36 days of stock).",
    ],
    "zh": [
        "动销率 85.0%：在售 100 个 SKU 中 85 个在本期有销售。",
        "24 个 A 类 SKU（占 SKU 数的 20.0%）贡献 80% 的销售额。",
        "12 个滞销 SKU 有库存但近 30 天无销售：按毛利率与 ABC 分类，2 个清仓，10 个下架。",
        "2 个近 30 天有销售的 SKU 已断货或将在 7 天补货周期内断货：应优先补货。",
        "本期库存周转 2.50 次（约 36 天库存）。",
    ],
}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_findings(lang):
    counts = COUNTS | {"clear (promotion / live stream)": 2}
    with use(lang=lang):
        assert N.findings(summary(), ALL, counts, 30, 7) == FINDINGS[lang]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_without_cost_or_inventory_the_figures_are_na_with_the_reason(lang):
    bare = {"cost": False, "inventory": False}
    nan = float("nan")
    s = summary(sell_through_rate=nan, inventory_turnover=nan, inventory_days=nan, gross_margin=nan)
    with use(lang=lang):
        found = N.findings(s, bare, {"keep": 100}, 30, 7)
        cards = N.cards(s, bare, 30, 7)
    want = {
        "en": [
            "90 of the 120 SKUs in the products table sold in the period.",
            "24 A-class SKUs (20.0% of SKUs) make 80% of revenue.",
            "Not available: sell-through rate, slow movers, stock-out risk (needs an inventory "
            "table of stock levels).",
            "Not available: inventory turnover (needs an inventory table of stock levels; needs a "
            "cost: the cost of products or the unit cost of order items).",
            "Not available: gross margin (needs a cost: the cost of products or the unit cost of "
            "order items).",
        ],
        "zh": [
            "商品表 120 个 SKU 中有 90 个在本期有销售。",
            "24 个 A 类 SKU（占 SKU 数的 20.0%）贡献 80% 的销售额。",
            "无法计算：动销率、滞销 SKU、断货风险（需要库存数据表）。",
            "无法计算：库存周转（需要库存数据表；需要成本：商品成本或订单明细单位成本）。",
            "无法计算：毛利率（需要成本：商品成本或订单明细单位成本）。",
        ],
    }
    assert found == want[lang]
    na = {"en": "n/a", "zh": "无数据"}[lang]
    assert [c.value for c in cards] == [na, "90", na, na, na, na]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_days_of_supply_read_as_days_or_words(lang):
    """Review, round 2: the SKU table showed 0.00 / 6.67 / 150.00 days of supply."""
    with use(lang=lang):
        got = [N.supply(v, 30) for v in (0.0, 6.666, 150.0, np.inf, np.nan)]
    assert (
        got
        == {
            "en": ["out of stock", "6.7", "150", "no sale in 30 days", "n/a"],
            "zh": ["已断货", "6.7", "150", "近 30 天无销售", "无数据"],
        }[lang]
    )


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_slow_movers_left_to_a_decision_by_hand_are_named(lang):
    counts = COUNTS | {"clear (promotion / live stream)": 2, "clear or delist": 3}
    with use(lang=lang):
        found = N.findings(summary(slow_movers=15), ALL, counts, 30, 7)
    assert (
        found[2]
        == {
            "en": "15 slow movers hold stock without a sale in the last 30 days: 2 to clear and 10 to "
            "delist by their margin and class. 3 others need a decision by hand: class A or B SKUs "
            "(they sold well earlier in the period) below the median margin, or without a cost.",
            "zh": "15 个滞销 SKU 有库存但近 30 天无销售：按毛利率与 ABC 分类，2 个清仓，10 个下架。"
            "另有 3 个需人工判断：毛利率低于中位数的 A、B 类 SKU（统计期早些时候销售良好），或成本未知。",
        }[lang]
    )
