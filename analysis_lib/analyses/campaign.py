"""Campaign retrospective (活动复盘): what a promotion with pre-heat (预热), burst (爆发) and return
(返场) phases really added, what it cost, what worked.

The counterfactual of daily GMV comes from :mod:`analysis_lib.analyses.causal` (R CausalImpact's model,
sampled by MCMC), fitted on the pre-period (the params' ``period``) and projected over the campaign
and a post window; every phase's effect, the net effect and the ROI are computed per posterior
draw, so their intervals carry the model's uncertainty (not sums of bounds).
"""

from __future__ import annotations

import datetime as _dt

import numpy as np
import pandas as pd

from analysis_lib.analyses import causal
from analysis_lib.core import metrics as M
from analysis_lib.core.data import DataSource, as_date_bounds
from analysis_lib.errors import DataError

PHASES = ["preheat", "burst", "return", "post"]
PHASE_LABELS = {
    "preheat": ("Pre-heat", "预热期"),
    "burst": ("Burst", "爆发期"),
    "return": ("Return", "返场期"),
    "post": ("Post window", "活动后"),
    "campaign": ("Campaign (pre-heat to return)", "活动期（预热至返场）"),
    "net": ("Net of the post window", "扣除活动后影响的净值"),
}


def load(src: DataSource, campaign_id: str, post_window: int) -> dict:
    """One campaign's dates and plan; one-line errors for an unknown id or phases out of order."""
    c = src.execute(src.table("campaigns"))
    row = c[c.campaign_id.astype(str) == campaign_id]
    if row.empty:
        known = ", ".join(sorted(c.campaign_id.astype(str)))
        raise DataError(
            f"{src.where('campaigns')}: unknown campaign_id '{campaign_id}' (known: {known})"
        )
    r = row.iloc[0]

    def day(col, default):
        v = r.get(col) if col in r else None
        return pd.Timestamp(v).date() if v is not None and not pd.isna(v) else default

    start, end = day("start_date", None), day("end_date", None)
    out = {
        "campaign_id": campaign_id,
        "name": str(r["name"]),
        "preheat_start": day("preheat_start", start),
        "burst_start": day("burst_start", start),
        "burst_end": day("burst_end", end),
        "end_date": end,
        "post_end": end + _dt.timedelta(days=post_window),
        "target_gmv": float(r["target_gmv"])
        if "target_gmv" in r and not pd.isna(r["target_gmv"])
        else None,
        "budget": float(r["budget"]) if "budget" in r and not pd.isna(r["budget"]) else None,
    }
    order = [out["preheat_start"], out["burst_start"], out["burst_end"], out["end_date"]]
    if not all(a <= b for a, b in zip(order, order[1:], strict=False)):
        raise DataError(
            f"{src.where('campaigns')}: campaign '{campaign_id}': phases overlap or run backwards "
            f"(preheat {order[0]}, burst {order[1]}..{order[2]}, end {order[3]})"
        )
    return out


def phase_of(days: pd.DatetimeIndex, camp: dict) -> pd.Series:
    """The phase of each day of the effect window."""
    d = pd.Series(days.date, index=days)
    return pd.Series(
        np.select(
            [d < camp["burst_start"], d <= camp["burst_end"], d <= camp["end_date"]],
            ["preheat", "burst", "return"],
            "post",
        ),
        index=days,
    )


def daily_gmv(src: DataSource, start, end) -> pd.Series:
    """Valid-order GMV per day, every day present."""
    from analysis_lib.analyses import kpi

    s = kpi.kpi_series(src, start, end, "day").set_index("bucket")["gmv"]
    s.index = pd.DatetimeIndex(s.index)
    return s


def impact(
    src: DataSource,
    camp: dict,
    pre_start,
    controls: pd.DataFrame | None = None,
    seasonal: int | None = 7,
    alpha: float = 0.05,
    niter: int = 1000,
    seed: int = 0,
    prior_level_sd: float | str = causal.R_LEVEL_SDS[0],
) -> causal.Impact:
    """The counterfactual of daily GMV over the campaign and the post window (``niter`` MCMC
    iterations, seeded; ``prior_level_sd`` as in :func:`analysis_lib.analyses.causal.estimate`)."""
    y = daily_gmv(src, pre_start, camp["post_end"])
    c = controls.reindex(y.index) if controls is not None else None
    if c is not None and c.isna().any().any():
        raise DataError(
            "controls: the control series do not cover every day of the pre-period and campaign"
        )
    return causal.estimate(
        y,
        pd.Timestamp(camp["preheat_start"]),
        c,
        seasonal,
        alpha,
        niter=niter,
        seed=seed,
        prior_level_sd=prior_level_sd,
    )


def phase_effects(imp: causal.Impact, camp: dict) -> pd.DataFrame:
    """Effect per phase, during the campaign (pre-heat to return), and net with the post window."""
    ph = phase_of(imp.series.index, camp)
    rows = []
    for p in PHASES:
        mask = (ph == p).to_numpy()
        if mask.any():
            rows.append({"phase": p, **imp.window(mask)})
    rows.append({"phase": "campaign", **imp.window((ph != "post").to_numpy())})
    rows.append({"phase": "net", **imp.window(np.ones(len(ph), bool))})
    return pd.DataFrame(rows)


def spend_by_channel(src: DataSource, camp: dict) -> pd.Series:
    """Campaign spend per channel: rows tagged with the campaign id, or else all spend between
    pre-heat and end."""
    if not src.has("marketing_spend"):
        return pd.Series(dtype=float)
    ms = src.table("marketing_spend")
    if "campaign_id" in ms.columns:
        sel = ms.filter(ms.campaign_id == camp["campaign_id"])
    else:
        sel = ms.filter((ms.date >= camp["preheat_start"]) & (ms.date <= camp["end_date"]))
    return (
        src.execute(sel.group_by("channel").aggregate(spend=sel.spend.sum()))
        .set_index("channel")["spend"]
        .astype(float)
    )


def channel_gmv_share(src: DataSource, camp: dict) -> pd.Series:
    """Share of campaign GMV (pre-heat to end) by order channel; empty when orders have no
    ``channel`` column (an optional one)."""
    lo, hi = as_date_bounds(camp["preheat_start"], camp["end_date"])
    o = M.valid_orders(src.table("orders"))
    if "channel" not in o.columns:
        return pd.Series(dtype=float)
    o = o.filter((o.order_ts >= lo) & (o.order_ts < hi))
    s = (
        src.execute(o.group_by("channel").aggregate(gmv=o.gmv.sum()))
        .set_index("channel")["gmv"]
        .astype(float)
    )
    return s / s.sum()


def roi(
    imp: causal.Impact,
    camp: dict,
    spend: pd.Series,
    shares: pd.Series,
    margin: float,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """ROI = (incremental GMV x margin - cost) / cost and incremental ROAS = incremental GMV / cost,
    per channel (net incremental GMV attributed by the channel's share of campaign GMV) and in total,
    each computed per posterior draw. Without channel shares (orders without a channel) only the
    total row: all net incremental GMV against all spend.

    Point figures come from the draws without observation noise (as the net incremental GMV of
    :meth:`causal.Impact.window` does, so the ROI and the incremental GMV shown agree); intervals
    from the posterior predictive draws."""
    net = imp.actual.sum() - imp.paths.sum(axis=1)  # net incremental GMV per draw
    net_point = float(imp.actual.sum() - imp.means.sum(axis=1).mean())
    a = alpha / 2
    rows = []
    if len(shares):
        items = [(ch, float(sp), float(shares.get(ch, 0.0))) for ch, sp in spend.items()]
        total_share = float(sum(shares.get(ch, 0.0) for ch in spend.index)) if len(spend) else 0.0
    else:
        items, total_share = [], 1.0
    items.append(("total", float(spend.sum()), total_share))
    for ch, cost, share in items:
        if cost <= 0:
            continue
        inc = net * share
        r = (inc * margin - cost) / cost
        ir = inc / cost
        point = net_point * share
        rows.append(
            {
                "channel": ch,
                "spend": cost,
                "gmv_share": share,
                "incremental_gmv": point,
                "roi": (point * margin - cost) / cost,
                "roi_lo": float(np.quantile(r, a)),
                "roi_hi": float(np.quantile(r, 1 - a)),
                "iroas": point / cost,
                "iroas_lo": float(np.quantile(ir, a)),
                "iroas_hi": float(np.quantile(ir, 1 - a)),
            }
        )
    cols = ["channel", "spend", "gmv_share", "incremental_gmv", "roi", "roi_lo", "roi_hi"]
    cols += ["iroas", "iroas_lo", "iroas_hi"]
    return pd.DataFrame(rows, columns=cols)  # no spend recorded: no rows, same columns


def new_customers(src: DataSource, camp: dict) -> int:
    """Buyers whose first valid order ever falls between pre-heat and end."""
    lo, hi = as_date_bounds(camp["preheat_start"], camp["end_date"])
    o = M.valid_orders(src.table("orders"))
    first = o.group_by("user_id").aggregate(first_ts=o.order_ts.min())
    return int(src.execute(first.filter((first.first_ts >= lo) & (first.first_ts < hi)).count()))


def category_contribution(src: DataSource, camp: dict, pre_start) -> pd.DataFrame:
    """GMV by product category during the campaign against its pre-period daily run rate: the
    extra GMV of each category and its share of all extra GMV (descriptive, not causal)."""
    if not (src.has("order_items") and src.has("products")):
        return pd.DataFrame()
    o = M.valid_orders(src.table("orders")).select("order_id", "order_ts")
    it = src.table("order_items")
    p = src.table("products").select("sku", "category")
    j = it.join(o, "order_id").join(p, "sku")
    out = []
    for name, (a, b) in {
        "pre": (pre_start, camp["preheat_start"] - _dt.timedelta(days=1)),
        "campaign": (camp["preheat_start"], camp["end_date"]),
    }.items():
        lo, hi = as_date_bounds(a, b)
        s = j.filter((j.order_ts >= lo) & (j.order_ts < hi))
        g = src.execute(
            s.group_by("category").aggregate(gmv=(s.quantity * s.unit_price).sum())
        ).set_index("category")["gmv"]
        out.append((g / ((b - a).days + 1)).rename(name))
    df = pd.concat(out, axis=1).fillna(0.0)
    days = (camp["end_date"] - camp["preheat_start"]).days + 1
    df["campaign_gmv"] = df["campaign"] * days
    df["extra_gmv"] = (df["campaign"] - df["pre"]) * days
    df["share_of_extra"] = df["extra_gmv"] / df["extra_gmv"].sum()
    return (
        df.drop(columns=["pre", "campaign"])
        .sort_values("extra_gmv", ascending=False)
        .rename_axis("category")
        .reset_index()
    )


def lessons(
    phases: pd.DataFrame,
    roi_table: pd.DataFrame,
    funnel_cmp: pd.DataFrame | None,
    categories: pd.DataFrame,
    achievement: float | None,
    lang: str = "en",
) -> pd.DataFrame:
    """What worked and what did not, each with the figure behind it."""
    from analysis_lib.present.report import fmt

    en = lang != "zh"
    rows = []
    ph = phases.set_index("phase")

    def add(ok: bool, what: str, evidence: str):
        rows.append(
            {
                "verdict": ("worked" if ok else "did not work")
                if en
                else ("有效" if ok else "无效"),
                "what": what,
                "evidence": evidence,
            }
        )

    for p in ["preheat", "burst", "return", "post"]:
        if p not in ph.index:
            continue
        r = ph.loc[p]
        sig = r.ci_low > 0 or r.ci_high < 0
        name = PHASE_LABELS[p][0 if en else 1]
        ev = f"{fmt(r.estimate, 'money')} ({fmt(r.ci_low, 'money')} … {fmt(r.ci_high, 'money')})"
        if sig:
            add(
                r.estimate > 0,
                name + (" added GMV" if r.estimate > 0 else " lost GMV")
                if en
                else name + ("带来增量" if r.estimate > 0 else "造成损失"),
                ev,
            )
    if len(roi_table):
        for _, r in roi_table[roi_table.channel != "total"].iterrows():
            add(
                r.roi_lo > 0,
                (f"spend on {r.channel}" if en else f"{r.channel} 渠道投放"),
                f"ROI {fmt(r.roi, 'signed_pct')} ({fmt(r.roi_lo, 'signed_pct')} … {fmt(r.roi_hi, 'signed_pct')})",
            )
    fc = funnel_cmp.dropna(subset=["relative_change"]) if funnel_cmp is not None else None
    if fc is not None and len(fc):
        w = fc.loc[fc["relative_change"].idxmin()]
        b = fc.loc[fc["relative_change"].idxmax()]
        add(
            True,
            (
                f"conversion {b.from_step} → {b.step} in the burst"
                if en
                else f"爆发期 {b.from_step} → {b.step} 转化"
            ),
            f"{fmt(b.current, 'pct')} vs {fmt(b.previous, 'pct')}",
        )
        if w.relative_change < 0:
            add(
                False,
                (
                    f"conversion {w.from_step} → {w.step} in the burst"
                    if en
                    else f"爆发期 {w.from_step} → {w.step} 转化"
                ),
                f"{fmt(w.current, 'pct')} vs {fmt(w.previous, 'pct')}",
            )
    if len(categories):
        top = categories.iloc[0]
        add(
            True,
            (
                f"category {top.category} drove the extra GMV"
                if en
                else f"品类 {top.category} 贡献最多增量"
            ),
            f"{fmt(top.share_of_extra, 'pct')}",
        )
    if achievement is not None:
        add(achievement >= 1, ("GMV target" if en else "GMV 目标"), fmt(achievement, "pct"))
    return pd.DataFrame(rows, columns=["verdict", "what", "evidence"])


def describe(src: DataSource, camp: dict) -> dict:
    """Observed figures of a campaign (pre-heat to end): GMV, orders, buyers, target achievement,
    spend, ROAS, new customers and CAC."""
    from analysis_lib.analyses import kpi

    t = kpi.kpi_totals(src, camp["preheat_start"], camp["end_date"])
    spend = float(spend_by_channel(src, camp).sum())
    new = new_customers(src, camp)
    return {
        "campaign_id": camp["campaign_id"],
        "name": camp["name"],
        "gmv": t["gmv"],
        "orders": t["orders"],
        "buyers": t["buyers"],
        "target_gmv": camp["target_gmv"],
        "target_achievement": t["gmv"] / camp["target_gmv"] if camp["target_gmv"] else None,
        "spend": spend,
        "roas": M.roas(t["gmv"], spend),
        "new_customers": new,
        "cac": M.cac(spend, new),
    }


def load_controls(src: DataSource, spec) -> pd.DataFrame | None:
    """Control series per day from a table of the source or a file (see the params)."""
    if spec is None:
        return None
    if spec.table:
        df = src.execute(src.table(spec.table))
    else:
        df = (
            pd.read_parquet(spec.path)
            if str(spec.path).endswith(".parquet")
            else pd.read_csv(spec.path)
        )
    missing = [c for c in [spec.date_column, *spec.columns] if c not in df.columns]
    if missing:
        raise DataError(f"controls: no column '{missing[0]}'")
    df.index = pd.DatetimeIndex(pd.to_datetime(df[spec.date_column]))
    return df[spec.columns].astype(float)
