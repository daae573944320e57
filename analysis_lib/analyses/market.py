"""Market analysis (市场分析) from the ``market`` table, and the persona of our buyers.

Definitions stated in the report:
- market size = sales of all brands in a period; month-on-month and year-on-year growth;
- our share = our sales / market size; rank by sales among brands;
- concentration over brands: CRk = sum of the k largest shares; HHI = sum of squared shares in
  percent (0-10,000; above 2,500 is "highly concentrated" in the US merger guidelines);
- growth x share matrix per category: growth = year-on-year growth of the category over the
  analysed months, our share in it; split at the market's overall growth and our overall share:
  high growth / low share = opportunity, high / high = star, low / high = defend, low / low = deprioritise;
- share to win back: categories whose market grew year on year while our share fell against the
  same months a year earlier, most sales at stake (at last year's share) first;
- price bands from average selling price (sales / units) per brand and category.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NamedTuple

import numpy as np
import pandas as pd

from analysis_lib.analyses.customers import Guests, customer_orders, guest_orders
from analysis_lib.core import metrics as M
from analysis_lib.core.data import DataSource, month_key
from analysis_lib.errors import DataError


def load(src: DataSource, our_brand: str | None = None) -> tuple[pd.DataFrame, str]:
    """The market table (small: one row per period x brand x category) and our brand: the
    ``our_brand`` param, else the brand flagged ``is_self``. One-line error when neither exists."""
    t = src.table("market")
    df = src.execute(t)
    df["period"] = month_key(df["period"], f"{src.where('market')}: column 'market.period'")
    df["sales"] = df["sales"].astype(float)
    if our_brand is None:
        if "is_self" not in df or not df["is_self"].astype(bool).any():
            raise DataError(
                f"{src.where('market')}: no row of our own brand (set is_self or the our_brand param)"
            )
        our_brand = str(df.loc[df["is_self"].astype(bool), "brand"].iloc[0])
    elif our_brand not in set(df["brand"]):
        raise DataError(
            f"{src.where('market')}: our brand '{our_brand}' does not appear in market.brand"
        )
    return df, our_brand


def by_period(df: pd.DataFrame, our_brand: str) -> pd.DataFrame:
    """Per period: market size, MoM and YoY growth, our sales, share and rank."""
    size = df.groupby("period")["sales"].sum().sort_index()
    brand = df.groupby(["period", "brand"])["sales"].sum().reset_index()
    brand["rank"] = brand.groupby("period")["sales"].rank(ascending=False, method="min")
    ours = brand[brand.brand == our_brand].set_index("period")
    out = pd.DataFrame({"market_size": size})
    out["mom"] = out["market_size"].pct_change()
    prev_year = [str(pd.Period(p, "M") - 12) for p in out.index]
    out["yoy"] = (
        out["market_size"].to_numpy() / out["market_size"].reindex(prev_year).to_numpy() - 1
    )
    out["our_sales"] = ours["sales"].reindex(out.index).fillna(0)
    out["our_share"] = M.safe_div(out["our_sales"], out["market_size"])
    out["our_rank"] = ours["rank"].reindex(out.index)
    return out.reset_index()


def concentration(sales_by_brand: pd.Series) -> dict[str, float]:
    """CR3, CR5 (shares 0-1) and HHI (0-10,000) of a Series of sales per brand."""
    s = sales_by_brand[sales_by_brand > 0]
    shares = (s / s.sum()).sort_values(ascending=False)
    return {
        "cr3": float(shares.iloc[:3].sum()),
        "cr5": float(shares.iloc[:5].sum()),
        "hhi": float(((shares * 100) ** 2).sum()),
        "brands": int(len(shares)),
    }


def months_in(start, end) -> list[str]:
    """The ``YYYY-MM`` periods that a date range touches."""
    return [str(p) for p in pd.period_range(pd.Timestamp(start), pd.Timestamp(end), freq="M")]


def year_earlier(months: list[str]) -> list[str]:
    """The same months a year earlier (the comparison of every year-on-year figure)."""
    return [str(pd.Period(m, "M") - 12) for m in months]


@dataclass(frozen=True)
class MarketSummary:
    """Headline figures over the analysed ``months``. ``market_growth_yoy`` is against the same
    months a year earlier, ``None`` when any of them is missing (a partial year would read as a
    crash); ``our_share_prev``/``our_rank_prev`` are ours in those months (``None`` likewise)."""

    months: tuple[str, ...]
    our_brand: str
    market_size: float
    market_growth_yoy: float | None
    our_sales: float
    our_share: float | None
    our_rank: int | None
    our_share_prev: float | None
    our_rank_prev: int | None
    cr3: float
    cr5: float
    hhi: float
    brands: int

    @property
    def share_change(self) -> float | None:
        """Our share now minus a year earlier (a difference of shares: percentage points)."""
        if self.our_share is None or self.our_share_prev is None:
            return None
        return self.our_share - self.our_share_prev


def _share_and_rank(cur: pd.DataFrame, our_brand: str) -> tuple[float | None, int | None]:
    brand = cur.groupby("brand")["sales"].sum()
    size = float(brand.sum())
    ranks = brand.rank(ascending=False, method="min")
    share = float(brand.get(our_brand, 0.0) / size) if size else None
    return share, (int(ranks[our_brand]) if our_brand in ranks else None)


def window_summary(df: pd.DataFrame, our_brand: str, months: list[str]) -> MarketSummary:
    """Headline figures over the analysed months: market size, YoY growth against the same months
    a year earlier, our share and rank (now and a year earlier), and concentration."""
    cur = df[df.period.isin(months)]
    if cur.empty:
        raise DataError(f"market: no rows in the analysed months {months[0]}..{months[-1]}")
    prev = df[df.period.isin(year_earlier(months))]
    full_prev = not prev.empty and prev.period.nunique() == len(months)
    brand = cur.groupby("brand")["sales"].sum().sort_values(ascending=False)
    size = float(brand.sum())
    prev_size = float(prev["sales"].sum())
    share, rank = _share_and_rank(cur, our_brand)
    share_prev, rank_prev = _share_and_rank(prev, our_brand) if full_prev else (None, None)
    c = concentration(brand)
    return MarketSummary(
        months=tuple(months),
        our_brand=our_brand,
        market_size=size,
        market_growth_yoy=(size / prev_size - 1) if full_prev and prev_size > 0 else None,
        our_sales=float(brand.get(our_brand, 0.0)),
        our_share=share,
        our_rank=rank,
        our_share_prev=share_prev,
        our_rank_prev=rank_prev,
        cr3=c["cr3"],
        cr5=c["cr5"],
        hhi=c["hhi"],
        brands=c["brands"],
    )


Quadrant = Literal["opportunity", "star", "defend", "deprioritise"]
QUADRANTS: tuple[Quadrant, ...] = ("opportunity", "star", "defend", "deprioritise")


@dataclass(frozen=True)
class CategoryMatrix:
    """The growth x share matrix. ``table``: one row per category (largest market first) with
    ``market_size``, ``growth_yoy``, ``growth_contribution`` (its part of the whole market's
    growth: its change in sales / the market a year earlier; they add up to the market's growth),
    ``our_share``, ``our_share_prev`` (a year earlier), ``share_change`` and ``quadrant``;
    the splits are the whole market's growth and our overall share."""

    table: pd.DataFrame
    growth_split: float
    share_split: float

    def of(self, quadrant: Quadrant) -> pd.DataFrame:
        """The categories of one quadrant, fastest growing first."""
        t = self.table
        return t[t.quadrant == quadrant].sort_values("growth_yoy", ascending=False)


def category_matrix(df: pd.DataFrame, our_brand: str, months: list[str]) -> CategoryMatrix:
    """Per category: size, YoY growth, our share now and a year earlier, and the quadrant of the
    growth x share matrix (split at the whole market's growth and our overall share)."""
    cur = df[df.period.isin(months)]
    prev = df[df.period.isin(year_earlier(months))]
    size = cur.groupby("category")["sales"].sum()
    prev_size = prev.groupby("category")["sales"].sum().reindex(size.index)
    ours = (
        cur[cur.brand == our_brand].groupby("category")["sales"].sum().reindex(size.index).fillna(0)
    )
    ours_prev = (
        prev[prev.brand == our_brand]
        .groupby("category")["sales"]
        .sum()
        .reindex(size.index)
        .fillna(0)
    )
    out = pd.DataFrame(
        {
            "market_size": size,
            "growth_yoy": size / prev_size - 1,
            "growth_contribution": (size - prev_size) / prev_size.sum()
            if prev_size.notna().all()
            else np.nan,
            "our_share": ours / size,
            "our_share_prev": M.safe_div(ours_prev, prev_size),
        }
    )
    out["share_change"] = out["our_share"] - out["our_share_prev"]
    g0 = size.sum() / prev_size.sum() - 1 if prev_size.notna().all() else out["growth_yoy"].median()
    s0 = ours.sum() / size.sum()
    hi_g = out["growth_yoy"] >= g0
    hi_s = out["our_share"] >= s0
    out["quadrant"] = np.select(
        [hi_g & ~hi_s, hi_g & hi_s, ~hi_g & hi_s], ["opportunity", "star", "defend"], "deprioritise"
    )
    table = out.sort_values("market_size", ascending=False).rename_axis("category").reset_index()
    return CategoryMatrix(table, float(g0), float(s0))


class ShareLoss(NamedTuple):
    """A category where the market grew year on year while our share fell. ``sales_at_stake`` is
    what we would have sold this year at last year's share: (share a year earlier - share now) x
    the category's market now."""

    category: str
    growth_yoy: float
    our_share: float
    our_share_prev: float
    share_change: float
    sales_at_stake: float


def share_losses(matrix: CategoryMatrix) -> list[ShareLoss]:
    """Categories to win back: market growing, our share falling; most sales at stake first."""
    t = matrix.table
    hit = t[(t.growth_yoy > 0) & (t.share_change < 0)]
    out = [
        ShareLoss(
            str(r.category),
            float(r.growth_yoy),
            float(r.our_share),
            float(r.our_share_prev),
            float(r.share_change),
            float(-r.share_change * r.market_size),
        )
        for r in hit.itertuples()
    ]
    return sorted(out, key=lambda x: -x.sales_at_stake)


def price_bands(
    df: pd.DataFrame, our_brand: str, months: list[str], bands: int = 4
) -> pd.DataFrame:
    """Average selling price (sales / units) per brand x category, cut into ``bands`` quantile
    bands; per band (``band_low``..``band_high``, price per unit): market size, our sales and
    share. Empty without a ``units`` column."""
    if "units" not in df:
        return pd.DataFrame()
    cur = df[df.period.isin(months)]
    g = cur.groupby(["brand", "category"])[["sales", "units"]].sum()
    g = g[g["units"] > 0]
    g["asp"] = g["sales"] / g["units"]
    g["band"] = pd.qcut(g["asp"], q=min(bands, len(g)), duplicates="drop")
    g = g.reset_index()
    out = g.groupby("band", observed=True).agg(market_size=("sales", "sum"))
    ours = g[g.brand == our_brand].groupby("band", observed=True)["sales"].sum()
    out["our_sales"] = ours.reindex(out.index).fillna(0)
    out["our_share"] = out["our_sales"] / out["market_size"]
    out.insert(0, "band_high", [float(iv.right) for iv in out.index])
    out.insert(0, "band_low", [float(iv.left) for iv in out.index])
    return out.reset_index(drop=True)


def _age_band(age: pd.Series) -> pd.Series:
    return pd.cut(age, [0, 24, 30, 40, 50, 200], labels=list(AGE_BANDS), right=True)


# No spend tier: the high-value segment is cut by spend, so its spend-tier split is circular
# (every high-value buyer in the top tier, index 400) and tells nothing; the persona's figures
# of spend (share of GMV, average spend) say it instead.
PERSONA_DIMS = ("age_band", "gender", "region", "city_tier")
AGE_BANDS = ("<25", "25-30", "31-40", "41-50", "50+")
ORDERED = {"age_band": AGE_BANDS}


@dataclass(frozen=True)
class Persona:
    """Our buyers in the period: how many, the high-value segment (top ``high_value_share`` by
    spend) and its part of spend, and per dimension (``dims``: age band, gender, region, city
    tier) the share among all buyers and among high-value buyers with the index (high-value
    share / all share x 100). No spend tier (see ``PERSONA_DIMS``). Buyers are known customers:
    guest checkouts (``orders.is_guest`` true, as in the customer value analysis) have no
    profile and are left out, counted in ``guests`` (``None`` when the orders mark no guests)."""

    buyers: int
    high_value_buyers: int
    high_value_share: float
    high_value_spend_share: float
    avg_spend_all: float
    avg_spend_high_value: float
    dims: dict[str, pd.DataFrame]
    guests: Guests | None = None


def buyer_persona(src: DataSource, start, end, high_value_share: float = 0.2) -> Persona | None:
    """Distributions of our buyers in the period (age band, gender, region, city tier)
    for all buyers and for the high-value segment (top ``high_value_share`` by spend); ``None``
    without buyers. Buyers are known customers: guest checkouts are left out and counted
    (:func:`analysis_lib.analyses.customers.customer_orders`, ``guest_orders``). Spend per buyer
    is aggregated in the engine; only one row per buyer with its attributes comes back."""
    o = customer_orders(src, start, end)
    spend = o.group_by("user_id").aggregate(spend=o.gmv.sum())
    users = src.table("users")
    cols = [c for c in ["age", "gender", "region", "city_tier"] if c in users.columns]
    j = spend.join(users.select("user_id", *cols), "user_id", how="left")
    df = src.execute(j.drop("user_id"))
    if df.empty:
        return None
    cut = df["spend"].quantile(1 - high_value_share)
    df["high_value"] = df["spend"] >= cut
    if "age" in df:
        df["age_band"] = _age_band(df["age"].astype(float))
    dims = {}
    for dim in [c for c in PERSONA_DIMS if c in df]:
        all_ = df[dim].astype(str).value_counts(normalize=True)
        top = df.loc[df.high_value, dim].astype(str).value_counts(normalize=True)
        t = pd.DataFrame({"all_buyers": all_, "high_value": top}).fillna(0.0)
        t["index"] = M.safe_div(t["high_value"], t["all_buyers"]) * 100
        t = t.rename_axis("value").reset_index()
        if dim in ORDERED:  # bands in their order, not alphabetically ("<25" after "50+")
            order = {v: i for i, v in enumerate(ORDERED[dim])}
            dims[dim] = t.sort_values("value", key=lambda v: v.map(order)).reset_index(drop=True)
        else:
            dims[dim] = t.sort_values("value").reset_index(drop=True)
    return Persona(
        buyers=len(df),
        high_value_buyers=int(df.high_value.sum()),
        high_value_share=high_value_share,
        high_value_spend_share=float(df.loc[df.high_value, "spend"].sum() / df["spend"].sum()),
        avg_spend_all=float(df["spend"].mean()),
        avg_spend_high_value=float(df.loc[df.high_value, "spend"].mean()),
        dims=dims,
        guests=guest_orders(src, start, end),
    )


@dataclass(frozen=True)
class MarketAnalysis:
    """Everything the market report shows, computed once: the market table (``df``), the
    analysed ``months`` (those of the period the table holds), the headline ``summary``, the
    monthly ``trend`` (every month of the table), the category ``matrix``, the share to win back
    (``losses``), the price ``bands`` (empty without units) and the buyer ``persona`` (``None``
    without orders and users)."""

    df: pd.DataFrame
    months: list[str]
    summary: MarketSummary
    trend: pd.DataFrame
    matrix: CategoryMatrix
    losses: list[ShareLoss]
    bands: pd.DataFrame
    persona: Persona | None

    def trend_window(self) -> tuple[pd.DataFrame, pd.DataFrame | None]:
        """The trend rows of the analysed months, and of the same months a year earlier (``None``
        unless the table holds every one of them)."""
        tr = self.trend.set_index("period")
        window = tr.reindex(self.months).reset_index()
        earlier_months = year_earlier(self.months)
        if not set(earlier_months) <= set(tr.index):
            return window, None
        return window, tr.reindex(earlier_months).reset_index()


def analyse(
    src: DataSource,
    start,
    end,
    our_brand: str | None = None,
    bands: int = 4,
    high_value_share: float = 0.2,
) -> MarketAnalysis:
    """The whole market analysis of the period ``start``..``end`` (see :class:`MarketAnalysis`)."""
    df, ours = load(src, our_brand)
    months = [m for m in months_in(start, end) if m in set(df.period)]
    if not months:
        raise DataError(f"{src.where('market')}: no rows in the period {start} – {end}")
    matrix = category_matrix(df, ours, months)
    persona = (
        buyer_persona(src, start, end, high_value_share)
        if src.has("orders") and src.has("users")
        else None
    )
    return MarketAnalysis(
        df=df,
        months=months,
        summary=window_summary(df, ours, months),
        trend=by_period(df, ours),
        matrix=matrix,
        losses=share_losses(matrix),
        bands=price_bands(df, ours, months, bands),
        persona=persona,
    )
