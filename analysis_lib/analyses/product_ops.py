"""Product operations (商品运营): sell-through, turnover, days of supply, slow movers, stock-out
risk, ABC, margins, price position, and a recommended action per SKU from explicit rules.

Definitions stated in the report:
- SKUs on sale: SKUs launched by the period's end with stock on some day of the period or a sale
  in it; sell-through rate (动销率) = SKUs with a sale in the period / SKUs on sale;
- inventory turnover = cost of goods sold in the period / average inventory value (on hand x cost,
  averaged over the period's days); days of supply = on hand at the period's end / average daily
  units sold over the last ``slow_days`` days;
- slow mover: in stock at the end and no sale in the last ``slow_days`` days; its margin for the
  clear/delist rules is the period's gross margin, or the list margin (price - cost) / price when
  it did not sell in the period;
- stock-out risk: days of supply below ``lead_time_days`` (already at zero stock counts too);
- ABC: A = SKUs making the first 80% of GMV, B the next 15%, C the rest;
- gross margin = (revenue - cost of goods) / revenue over the SKUs whose cost is known, cost from
  ``order_items.unit_cost`` or else ``products.cost``; price position = percent rank of the price within its category.
Negative stock (oversold in the ERP) is counted in the data-quality section and treated as zero.

A shop without a cost (no ``products.cost`` nor ``order_items.unit_cost``) or without an
``inventory`` table still gets every measure its tables support; the others are n/a with the
reason (:func:`unavailable`), never a number made of missing inputs (a margin of 100% from a cost
of zero, a turnover of NaN, every selling SKU "on sale" so a sell-through of 100%): margins need a
cost; sell-through, slow movers, stock-out risk and days of supply need stock levels; turnover
needs both. Without a cost a slow mover's action is "clear or delist" (the margin decides which).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import asdict, dataclass
from typing import Literal

import ibis
import numpy as np
import pandas as pd

from analysis_lib.core import metrics as M
from analysis_lib.core.data import DataSource, as_date_bounds

Action = Literal[
    "restock",
    "clear (promotion / live stream)",
    "delist",
    "clear or delist",
    "bundle",
    "keep",
]
Input = Literal["inventory", "cost"]
# the actions most urgent first (a stock-out loses sales within the lead time; slow stock ties up
# cash; a bundle can wait), and so the order of their rules: the first rule a SKU meets decides.
# The rules in words are in the catalog (present/catalog/product_ops.yaml, ``rule.<action>``).
ACTIONS: tuple[Action, ...] = (
    "restock",  # stocked out with recent sales, or days of supply below the lead time
    "clear (promotion / live stream)",  # slow mover, margin at or above the median
    "delist",  # slow mover, class C, margin below the median
    "clear or delist",  # other slow movers (no margin; class A/B below the median): by hand
    "bundle",  # class C that still sells: bundle with an A item
    "keep",  # everything else
)

# what each headline figure needs besides sales: "cost" (a unit cost), "inventory" (stock levels)
NEEDS: dict[str, tuple[Input, ...]] = {
    "sell_through_rate": ("inventory",),
    "skus_on_sale": ("inventory",),
    "inventory_turnover": ("inventory", "cost"),
    "inventory_days": ("inventory", "cost"),
    "slow_movers": ("inventory",),
    "stockout_risk_skus": ("inventory",),
    "gross_margin": ("cost",),
}
# the action rules each input is needed for (restock, clear and delist look at stock)
RULE_NEEDS: dict[Action, tuple[Input, ...]] = {
    "restock": ("inventory",),
    "clear (promotion / live stream)": ("inventory", "cost"),
    "delist": ("inventory", "cost"),
    "clear or delist": ("inventory",),
}


def inputs(src: DataSource) -> dict[str, bool]:
    """Which optional inputs the shop has: ``cost`` (an ``order_items.unit_cost`` or
    ``products.cost`` with a value: an export's empty cost column is no cost) and ``inventory``
    (the table)."""

    def filled(table: str, col: str) -> bool:
        t = src.table(table)
        return col in t.columns and int(src.execute(t[col].count())) > 0

    return {
        "cost": filled("order_items", "unit_cost") or filled("products", "cost"),
        "inventory": src.has("inventory"),
    }


def missing_inputs(needs, have: dict[str, bool]) -> tuple[Input, ...]:
    """The inputs among ``needs`` the shop lacks (``have``: :func:`inputs`)."""
    return tuple(n for n in needs if not have.get(n, True))


def unavailable(have: dict[str, bool]) -> dict[str, tuple[Input, ...]]:
    """Headline figures the shop's inputs (:func:`inputs`) cannot give, each with the inputs it
    lacks (the report words the reason)."""
    return {k: m for k, n in NEEDS.items() if (m := missing_inputs(n, have))}


def sku_table(
    src: DataSource, start: _dt.date, end: _dt.date, slow_days: int = 30, lead_time_days: int = 7
) -> pd.DataFrame:
    """One row per SKU with every measure of the module docstring (aggregated in the engine).
    Without an inventory table the stock columns (on hand, days of supply) are NaN and no SKU is
    a slow mover or at risk; without a cost, margins are NaN (see :func:`unavailable`)."""
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
            units_no_cost=cost.isnull().ifelse(j.quantity, 0).sum(),
            last_sale=j.order_ts.max(),
            recent_units=(j.order_ts >= recent_lo).ifelse(j.quantity, 0).sum(),
        )
    )
    df = p.merge(sales, on="sku", how="left")
    filled = ["units", "revenue", "recent_units", "units_no_cost"]
    df[filled] = df[filled].fillna(0)
    # lines without a unit_cost are costed at the product's cost; where that is unknown too the
    # SKU's cost of goods is unknown (NaN), never the cost of the other lines against all revenue
    unit_cost = df.get("cost", np.nan)
    no_cost = df["units_no_cost"] * unit_cost
    df["cogs"] = df["cogs_items"].fillna(0) + no_cost.where(df["units_no_cost"] > 0, 0.0)
    df.loc[(df["units_no_cost"] > 0) & no_cost.isna(), "cogs"] = np.nan
    df.loc[(df["units"] == 0) & pd.isna(unit_cost), "cogs"] = np.nan
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
    df.loc[df["on_hand"].isna(), "days_of_supply"] = np.nan  # no stock level: unknown, not ∞
    df["slow_mover"] = (df["on_hand"].fillna(0) > 0) & (df["recent_units"] == 0)
    df["stocked_out"] = df["on_hand"].fillna(1) <= 0
    df["stockout_risk"] = (
        df["on_sale"]
        & (df["stocked_out"] | (df["days_of_supply"] < lead_time_days))
        & (df["recent_units"] > 0)
    )
    df["gross_margin"] = M.safe_div(df["revenue"] - df["cogs"], df["revenue"])
    # the margin a slow mover's action reads: the period's, or for a SKU without a sale in the
    # period (no revenue, so no period margin) its list margin (price - cost) / price; before,
    # such a SKU took the median and was "cleared" by a margin rule it could not meet
    list_margin = M.safe_div(df["price"] - df.get("cost", np.nan), df["price"])
    df["margin"] = df["gross_margin"].where(df["revenue"] > 0, list_margin)
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
    """The recommended action per SKU by the rules of :data:`ACTIONS` (first match wins). A slow
    mover's margin is ``margin`` (the period's, else the list margin). Delisting needs class C as
    well as a low margin: a class A or B SKU sold well earlier in the period, and a margin alone
    does not justify dropping it. A slow mover neither rule decides (no margin known, or class
    A/B below the median) is "clear or delist": by hand."""
    median = median_margin(df)
    margin = df["margin"] if "margin" in df else df["gross_margin"]
    return pd.Series(
        np.select(
            [
                df["stockout_risk"],
                df["slow_mover"] & (margin >= median),
                df["slow_mover"] & (margin < median) & (df["abc"] == "C"),
                df["slow_mover"],
                (df["abc"] == "C") & df["sold"],
            ],
            list(ACTIONS[:5]),
            ACTIONS[5],
        ),
        index=df.index,
    )


@dataclass(frozen=True)
class Summary:
    """The headline figures (NaN where the shop's inputs cannot give them, see :func:`unavailable`)
    and the counts they rest on."""

    skus_sold: int
    skus_in_catalogue: int
    skus_on_sale: int
    sell_through_rate: float
    inventory_turnover: float
    inventory_days: float
    slow_movers: int
    stockout_risk_skus: int
    gross_margin: float
    negative_stock_rows: int
    sold_on_sale: int  # SKUs on sale with a sale: the numerator of the sell-through rate
    a_skus: int  # class A SKUs: the first 80% of revenue
    median_margin: float  # the gross margin that splits clear from delist (NaN without cost)

    def figures(self) -> dict[str, float]:
        """The figures recorded in results.json (the counts behind them are in the report)."""
        d = asdict(self)
        return {k: d[k] for k in list(d)[:10]}


def summary(df: pd.DataFrame, period_days: int, have: dict[str, bool] | None = None) -> Summary:
    """Headline figures: sell-through rate, turnover, counts of slow movers and stock-out risks,
    gross margin; those the inputs ``have`` (:func:`inputs`; default: all) cannot give are NaN
    (a sum over missing costs would read as a 100% margin). ``skus_sold`` and
    ``skus_in_catalogue`` need sales and products only."""
    on_sale = df[df["on_sale"]]
    avg_inv = df["inventory_value"].sum()
    out = {
        "skus_sold": int(df["sold"].sum()),
        "skus_in_catalogue": int(len(df)),
        "skus_on_sale": int(len(on_sale)),
        "sell_through_rate": float(on_sale["sold"].mean()) if len(on_sale) else float("nan"),
        "inventory_turnover": float(df["cogs"].sum() / avg_inv) if avg_inv > 0 else float("nan"),
        "inventory_days": float(avg_inv / (df["cogs"].sum() / period_days))
        if df["cogs"].sum() > 0
        else float("nan"),
        "slow_movers": int(df["slow_mover"].sum()),
        "stockout_risk_skus": int(df["stockout_risk"].sum()),
        "gross_margin": _margin(df),
        "negative_stock_rows": int(df["negative_days"].fillna(0).sum()),
        "sold_on_sale": int(on_sale["sold"].sum()),
        "a_skus": int((df["abc"] == "A").sum()),
        "median_margin": median_margin(df),
    }
    for k in unavailable(have or {}):
        out[k] = float("nan")
    return Summary(**out)


def median_margin(df: pd.DataFrame) -> float:
    """The median gross margin of the SKUs that sold: slow movers at or above it are cleared
    (room to discount), those below it delisted (:func:`actions`)."""
    return float(df.loc[df["revenue"] > 0, "gross_margin"].median())


@dataclass(frozen=True)
class ActionGroup:
    """The SKUs one action applies to, most pressing first: restock by days of supply (fewest
    first), the others by revenue in the period (largest first)."""

    action: Action
    skus: pd.DataFrame

    @property
    def count(self) -> int:
        return len(self.skus)


def action_plan(df: pd.DataFrame) -> list[ActionGroup]:
    """Every action but keep that applies to a SKU, most urgent first (:data:`ACTIONS`)."""
    out = []
    for action in ACTIONS[:-1]:
        rows = df[df["action"] == action]
        if rows.empty:
            continue
        if action == "restock":
            rows = rows.sort_values(["days_of_supply", "revenue"], ascending=[True, False])
        else:
            rows = rows.sort_values("revenue", ascending=False)
        out.append(ActionGroup(action, rows.reset_index(drop=True)))
    return out


def _margin(df: pd.DataFrame) -> float:
    """Gross margin over the SKUs whose cost of goods is known (NaN when none is): a missing
    cost summed as zero would read as a 100% margin."""
    known = df[df["cogs"].notna()]
    if known.empty:
        return float("nan")
    return float(M.safe_div(known["revenue"].sum() - known["cogs"].sum(), known["revenue"].sum()))


def by_category(df: pd.DataFrame, have: dict[str, bool] | None = None) -> pd.DataFrame:
    """Per category: SKUs, sell-through, revenue, gross margin, slow movers, stock-out risks;
    the columns the inputs ``have`` (:func:`inputs`) cannot give are left out."""
    g = df.groupby("category")
    out = pd.DataFrame(
        {
            "skus": g.size(),
            "sell_through_rate": g.apply(
                lambda x: x.loc[x.on_sale, "sold"].mean(), include_groups=False
            ),
            "revenue": g["revenue"].sum(),
            "gross_margin": g.apply(_margin, include_groups=False),
            "slow_movers": g["slow_mover"].sum(),
            "stockout_risk": g["stockout_risk"].sum(),
        }
    )
    gone = unavailable(have or {})
    cols = {
        "sell_through_rate": "sell_through_rate",
        "gross_margin": "gross_margin",
        "slow_movers": "slow_movers",
        "stockout_risk": "stockout_risk_skus",
    }
    out = out.drop(columns=[c for c, k in cols.items() if k in gone])
    return out.sort_values("revenue", ascending=False).reset_index()


@dataclass(frozen=True)
class ProductOps:
    """Everything the report shows, computed once: the SKU table, its summary, the action plan
    (most urgent first) and the inputs the shop has (cost, inventory)."""

    skus: pd.DataFrame
    summary: Summary
    plan: list[ActionGroup]
    have: dict[str, bool]

    @property
    def counts(self) -> dict[str, int]:
        """SKUs per action, keep included."""
        return self.skus["action"].value_counts().to_dict()
