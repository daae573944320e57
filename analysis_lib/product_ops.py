"""Product operations (商品运营): sell-through, turnover, days of supply, slow movers, stock-out
risk, ABC, margins, price position, and a recommended action per SKU from explicit rules.

Definitions stated in the report:
- SKUs on sale: SKUs launched by the period's end with stock on some day of the period or a sale
  in it; sell-through rate (动销率) = SKUs with a sale in the period / SKUs on sale;
- inventory turnover = cost of goods sold in the period / average inventory value (on hand x cost,
  averaged over the period's days); days of supply = on hand at the period's end / average daily
  units sold over the last ``slow_days`` days;
- slow mover: in stock at the end and no sale in the last ``slow_days`` days;
- stock-out risk: days of supply below ``lead_time_days`` (already at zero stock counts too);
- ABC: A = SKUs making the first 80% of GMV, B the next 15%, C the rest;
- gross margin = (revenue - cost of goods) / revenue, cost from ``order_items.unit_cost`` or else
  ``products.cost``; price position = percent rank of the price within its category.
Negative stock (oversold in the ERP) is counted in the data-quality section and treated as zero.
"""

from __future__ import annotations

import datetime as _dt

import ibis
import numpy as np
import pandas as pd

from analysis_lib import metrics as M
from analysis_lib.data import DataSource, as_date_bounds

ACTION_RULES = [
    (
        "restock",
        "stocked out with sales in the last slow_days days, or days of supply below the lead time",
    ),
    (
        "clear (promotion / live stream)",
        "slow mover with a gross margin at or above the median: room to discount",
    ),
    ("delist", "slow mover with a gross margin below the median"),
    ("bundle", "class C that still sells: bundle with an A item"),
    ("keep", "everything else"),
]


def sku_table(
    src: DataSource, start: _dt.date, end: _dt.date, slow_days: int = 30, lead_time_days: int = 7
) -> pd.DataFrame:
    """One row per SKU with every measure of the module docstring (aggregated in the engine)."""
    lo, hi = as_date_bounds(start, end)
    recent_lo = hi - _dt.timedelta(days=slow_days)
    products = src.table("products")
    cols = ["sku", "category", "price"] + [
        c for c in ["cost", "launch_date", "name"] if c in products.columns
    ]
    p = src.execute(products.select(*cols))
    o = M.valid_orders(src.table("orders")).select("order_id", "order_ts")
    it = src.table("order_items")
    j = it.join(o, "order_id")
    j = j.filter((j.order_ts >= lo) & (j.order_ts < hi))
    cost = j.unit_cost if "unit_cost" in it.columns else ibis.null("float64")
    sales = src.execute(
        j.group_by("sku").aggregate(
            units=j.quantity.sum(),
            revenue=(j.quantity * j.unit_price).sum(),
            cogs_items=(j.quantity * cost).sum(),
            last_sale=j.order_ts.max(),
            recent_units=(j.order_ts >= recent_lo).ifelse(j.quantity, 0).sum(),
        )
    )
    df = p.merge(sales, on="sku", how="left")
    df[["units", "revenue", "recent_units"]] = df[["units", "revenue", "recent_units"]].fillna(0)
    unit_cost = df.get("cost", np.nan)
    df["cogs"] = df["cogs_items"].where(
        df["cogs_items"].notna() & (df["cogs_items"] > 0), df["units"] * unit_cost
    )
    if src.has("inventory"):
        inv = src.table("inventory")
        inv = inv.filter((inv.date >= lo.date()) & (inv.date < hi.date()))
        oh = ibis.greatest(inv.on_hand, 0)
        stock = src.execute(
            inv.group_by("sku").aggregate(
                avg_on_hand=oh.mean(),
                max_on_hand=oh.max(),
                end_date=inv.date.max(),
                negative_days=(inv.on_hand < 0).cast("int64").sum(),
            )
        )
        last = inv.filter(inv.date == inv.date.max().over(ibis.window(group_by=inv.sku)))
        end_oh = src.execute(
            last.group_by("sku").aggregate(on_hand=ibis.greatest(last.on_hand, 0).max())
        )
        df = df.merge(stock, on="sku", how="left").merge(end_oh, on="sku", how="left")
    else:
        df["avg_on_hand"] = df["max_on_hand"] = df["on_hand"] = np.nan
        df["negative_days"] = 0
    launched = (
        pd.to_datetime(df["launch_date"]) <= pd.Timestamp(end) if "launch_date" in df else True
    )
    df["on_sale"] = launched & ((df["max_on_hand"].fillna(0) > 0) | (df["units"] > 0))
    df["sold"] = df["units"] > 0
    daily = df["recent_units"] / slow_days
    df["days_of_supply"] = np.where(daily > 0, df["on_hand"] / daily.where(daily > 0), np.inf)
    df["slow_mover"] = (df["on_hand"].fillna(0) > 0) & (df["recent_units"] == 0)
    df["stocked_out"] = df["on_hand"].fillna(1) <= 0
    df["stockout_risk"] = (
        df["on_sale"]
        & (df["stocked_out"] | (df["days_of_supply"] < lead_time_days))
        & (df["recent_units"] > 0)
    )
    df["gross_margin"] = M.safe_div(df["revenue"] - df["cogs"], df["revenue"])
    df["inventory_value"] = df["avg_on_hand"] * (df.get("cost", np.nan))
    df["price_position"] = df.groupby("category")["price"].rank(pct=True)
    df = df.sort_values("revenue", ascending=False).reset_index(drop=True)
    share = df["revenue"].cumsum() / df["revenue"].sum()
    prev = share.shift(fill_value=0)
    df["abc"] = np.select([prev < 0.80, prev < 0.95], ["A", "B"], "C")
    df.loc[df["revenue"] == 0, "abc"] = "C"
    df["action"] = actions(df)
    return df


def actions(df: pd.DataFrame) -> pd.Series:
    """The recommended action per SKU by :data:`ACTION_RULES` (first match wins)."""
    median_margin = df.loc[df["revenue"] > 0, "gross_margin"].median()
    margin = df["gross_margin"].fillna(median_margin)
    return pd.Series(
        np.select(
            [
                df["stockout_risk"],
                df["slow_mover"] & (margin >= median_margin),
                df["slow_mover"],
                (df["abc"] == "C") & df["sold"],
            ],
            [r[0] for r in ACTION_RULES[:4]],
            ACTION_RULES[4][0],
        ),
        index=df.index,
    )


def summary(df: pd.DataFrame, period_days: int) -> dict[str, float]:
    """Headline figures: sell-through rate, turnover, counts of slow movers and stock-out risks."""
    on_sale = df[df["on_sale"]]
    avg_inv = df["inventory_value"].sum()
    return {
        "skus_on_sale": int(len(on_sale)),
        "sell_through_rate": float(on_sale["sold"].mean()) if len(on_sale) else float("nan"),
        "inventory_turnover": float(df["cogs"].sum() / avg_inv) if avg_inv > 0 else float("nan"),
        "inventory_days": float(avg_inv / (df["cogs"].sum() / period_days))
        if df["cogs"].sum() > 0
        else float("nan"),
        "slow_movers": int(df["slow_mover"].sum()),
        "stockout_risk_skus": int(df["stockout_risk"].sum()),
        "gross_margin": float(
            M.safe_div(df["revenue"].sum() - df["cogs"].sum(), df["revenue"].sum())
        ),
        "negative_stock_rows": int(df["negative_days"].fillna(0).sum()),
    }


def by_category(df: pd.DataFrame) -> pd.DataFrame:
    """Per category: SKUs, sell-through, revenue, gross margin, slow movers, stock-out risks."""
    g = df.groupby("category")
    out = pd.DataFrame(
        {
            "skus": g.size(),
            "sell_through_rate": g.apply(
                lambda x: x.loc[x.on_sale, "sold"].mean(), include_groups=False
            ),
            "revenue": g["revenue"].sum(),
            "gross_margin": (g["revenue"].sum() - g["cogs"].sum()) / g["revenue"].sum(),
            "slow_movers": g["slow_mover"].sum(),
            "stockout_risk": g["stockout_risk"].sum(),
        }
    )
    return out.sort_values("revenue", ascending=False).reset_index()


def findings(s: dict, df: pd.DataFrame, lang: str = "en") -> list[str]:
    """Plain-language findings generated from the numbers."""
    from analysis_lib.report import fmt

    en = lang != "zh"
    a = df[df.abc == "A"]
    out = [
        f"Sell-through rate {fmt(s['sell_through_rate'], 'pct')}: {int(df.loc[df.on_sale, 'sold'].sum()):,} of {s['skus_on_sale']:,} SKUs on sale sold in the period."
        if en
        else f"动销率 {fmt(s['sell_through_rate'], 'pct')}：在售 {s['skus_on_sale']:,} 个 SKU 中 {int(df.loc[df.on_sale, 'sold'].sum()):,} 个有销售。",
        f"{len(a):,} A-class SKUs ({fmt(len(a) / max(len(df), 1), 'pct')} of SKUs) make 80% of revenue."
        if en
        else f"{len(a):,} 个 A 类 SKU（占 {fmt(len(a) / max(len(df), 1), 'pct')}）贡献 80% 的销售额。",
        f"{s['slow_movers']:,} slow movers hold stock without a recent sale; {s['stockout_risk_skus']:,} selling SKUs are at risk of stocking out."
        if en
        else f"{s['slow_movers']:,} 个滞销 SKU 有库存但近期无销售；{s['stockout_risk_skus']:,} 个在售 SKU 有断货风险。",
        f"Inventory turns {s['inventory_turnover']:.1f} times in the period (about {s['inventory_days']:.0f} days of stock)."
        if en
        else f"本期库存周转 {s['inventory_turnover']:.1f} 次（约 {s['inventory_days']:.0f} 天库存）。",
    ]
    return out
