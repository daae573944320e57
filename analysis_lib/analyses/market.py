"""Market analysis (市场分析) from the ``market`` table, and the persona of our buyers.

Definitions stated in the report:
- market size = sales of all brands in a period; month-on-month and year-on-year growth;
- our share = our sales / market size; rank by sales among brands;
- concentration over brands: CRk = sum of the k largest shares; HHI = sum of squared shares in
  percent (0-10,000; above 2,500 is "highly concentrated" in the US merger guidelines);
- growth x share matrix per category: growth = year-on-year growth of the category over the
  analysed months, our share in it; split at the market's overall growth and our overall share:
  high growth / low share = opportunity, high / high = star, low / high = defend, low / low = deprioritise;
- price bands from average selling price (sales / units) per brand and category.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis_lib.core import metrics as M
from analysis_lib.core.data import DataSource, as_date_bounds, month_key
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


def window_summary(df: pd.DataFrame, our_brand: str, months: list[str]) -> dict[str, float]:
    """Headline figures over the analysed months: market size, YoY growth against the same months
    a year earlier, our share and rank, and concentration."""
    cur = df[df.period.isin(months)]
    if cur.empty:
        raise DataError(f"market: no rows in the analysed months {months[0]}..{months[-1]}")
    prev_months = [str(pd.Period(m, "M") - 12) for m in months]
    prev = df[df.period.isin(prev_months)]
    brand = cur.groupby("brand")["sales"].sum().sort_values(ascending=False)
    size = float(brand.sum())
    prev_size = float(prev["sales"].sum())
    ranks = brand.rank(ascending=False, method="min")
    return {
        "market_size": size,
        "market_growth_yoy": (size / prev_size - 1)
        if prev_size > 0 and prev.period.nunique() == len(months)
        else None,
        "our_sales": float(brand.get(our_brand, 0.0)),
        "our_share": float(brand.get(our_brand, 0.0) / size) if size else None,
        "our_rank": int(ranks.get(our_brand)) if our_brand in ranks else None,
        **concentration(brand),
    }


def category_matrix(df: pd.DataFrame, our_brand: str, months: list[str]) -> pd.DataFrame:
    """Per category: size, YoY growth, our share, and the quadrant of the growth x share matrix
    (split at the whole market's growth and our overall share)."""
    prev_months = [str(pd.Period(m, "M") - 12) for m in months]
    cur = df[df.period.isin(months)]
    prev = df[df.period.isin(prev_months)]
    size = cur.groupby("category")["sales"].sum()
    prev_size = prev.groupby("category")["sales"].sum().reindex(size.index)
    ours = (
        cur[cur.brand == our_brand].groupby("category")["sales"].sum().reindex(size.index).fillna(0)
    )
    out = pd.DataFrame(
        {"market_size": size, "growth_yoy": size / prev_size - 1, "our_share": ours / size}
    )
    g0 = size.sum() / prev_size.sum() - 1 if prev_size.notna().all() else out["growth_yoy"].median()
    s0 = ours.sum() / size.sum()
    hi_g = out["growth_yoy"] >= g0
    hi_s = out["our_share"] >= s0
    out["quadrant"] = np.select(
        [hi_g & ~hi_s, hi_g & hi_s, ~hi_g & hi_s], ["opportunity", "star", "defend"], "deprioritise"
    )
    out.attrs.update(growth_split=float(g0), share_split=float(s0))
    return out.sort_values("market_size", ascending=False).reset_index()


def price_bands(
    df: pd.DataFrame, our_brand: str, months: list[str], bands: int = 4
) -> pd.DataFrame:
    """Average selling price (sales / units) per brand x category, cut into ``bands`` quantile
    bands; per band: market size, our sales and share. Empty without a ``units`` column."""
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
    out.index = [f"{iv.left:,.0f}–{iv.right:,.0f}" for iv in out.index]
    return out.rename_axis("price_band").reset_index()


def _age_band(age: pd.Series) -> pd.Series:
    return pd.cut(
        age, [0, 24, 30, 40, 50, 200], labels=["<25", "25-30", "31-40", "41-50", "50+"], right=True
    )


def buyer_persona(
    src: DataSource, start, end, high_value_share: float = 0.2
) -> dict[str, pd.DataFrame]:
    """Distributions of our buyers in the period (age band, gender, region, city tier, spend tier)
    for all buyers and for the high-value segment (top ``high_value_share`` by spend). Spend per
    buyer is aggregated in the engine; only one row per buyer with its attributes comes back."""
    lo, hi = as_date_bounds(start, end)
    o = M.valid_orders(src.table("orders"))
    o = o.filter((o.order_ts >= lo) & (o.order_ts < hi))
    spend = o.group_by("user_id").aggregate(spend=o.gmv.sum())
    users = src.table("users")
    cols = [c for c in ["age", "gender", "region", "city_tier"] if c in users.columns]
    j = spend.join(users.select("user_id", *cols), "user_id", how="left")
    df = src.execute(j.drop("user_id"))
    if df.empty:
        return {}
    df["spend_tier"] = pd.qcut(
        df["spend"].rank(method="first"), 4, labels=["low", "mid-low", "mid-high", "high"]
    )
    cut = df["spend"].quantile(1 - high_value_share)
    df["high_value"] = df["spend"] >= cut
    if "age" in df:
        df["age_band"] = _age_band(df["age"].astype(float))
    out = {}
    for dim in [c for c in ["age_band", "gender", "region", "city_tier", "spend_tier"] if c in df]:
        all_ = df[dim].astype(str).value_counts(normalize=True)
        top = df.loc[df.high_value, dim].astype(str).value_counts(normalize=True)
        t = pd.DataFrame({"all_buyers": all_, "high_value": top}).fillna(0.0)
        t["index"] = M.safe_div(t["high_value"], t["all_buyers"]) * 100
        out[dim] = t.rename_axis(dim).reset_index().sort_values(dim)
    out["_summary"] = pd.DataFrame(
        {
            "buyers": [len(df)],
            "high_value_buyers": [int(df.high_value.sum())],
            "high_value_spend_share": [df.loc[df.high_value, "spend"].sum() / df["spend"].sum()],
            "avg_spend_all": [df["spend"].mean()],
            "avg_spend_high_value": [df.loc[df.high_value, "spend"].mean()],
        }
    )
    return out


def findings(
    summary: dict, matrix: pd.DataFrame, our_brand: str, months: list[str], lang: str = "en"
) -> list[str]:
    """Plain-language findings generated from the numbers."""
    from analysis_lib.present.report import fmt

    en = lang != "zh"
    g = summary.get("market_growth_yoy")
    out = [
        (
            f"The market was {fmt(summary['market_size'], 'money')} over {months[0]}–{months[-1]}"
            + (
                f", {fmt(g, 'signed_pct')} year on year."
                if g is not None
                else " (no year-earlier data for growth)."
            )
        )
        if en
        else (
            f"{months[0]}–{months[-1]} 市场规模 {fmt(summary['market_size'], 'money')}"
            + (f"，同比 {fmt(g, 'signed_pct')}。" if g is not None else "（无去年同期数据）。")
        ),
        (
            f"{our_brand} holds {fmt(summary['our_share'], 'pct')} of it and ranks #{summary['our_rank']} of {summary['brands']} brands."
            if en
            else f"{our_brand} 份额 {fmt(summary['our_share'], 'pct')}，在 {summary['brands']} 个品牌中排名第 {summary['our_rank']}。"
        ),
    ]
    hhi = summary["hhi"]
    level = (
        (
            "highly concentrated"
            if hhi > 2500
            else "moderately concentrated"
            if hhi >= 1500
            else "unconcentrated"
        )
        if en
        else ("高度集中" if hhi > 2500 else "中度集中" if hhi >= 1500 else "竞争分散")
    )
    out.append(
        f"Concentration: CR3 {fmt(summary['cr3'], 'pct')}, CR5 {fmt(summary['cr5'], 'pct')}, HHI {hhi:,.0f} ({level})."
        if en
        else f"集中度：CR3 {fmt(summary['cr3'], 'pct')}，CR5 {fmt(summary['cr5'], 'pct')}，HHI {hhi:,.0f}（{level}）。"
    )
    opp = matrix[matrix.quadrant == "opportunity"]
    if len(opp):
        top = opp.sort_values("growth_yoy", ascending=False).iloc[0]
        out.append(
            f"Best opportunity: {top.category}, growing {fmt(top.growth_yoy, 'signed_pct')} while our share is only {fmt(top.our_share, 'pct')}."
            if en
            else f"最大机会：{top.category}，增速 {fmt(top.growth_yoy, 'signed_pct')}，我们的份额仅 {fmt(top.our_share, 'pct')}。"
        )
    star = matrix[matrix.quadrant == "star"]
    if len(star):
        out.append(
            ("Stars to keep investing in: " if en else "需持续投入的明星品类：")
            + ", ".join(star.category)
        )
    return out
