"""Customer value (用户价值): RFM segments, monthly cohorts, historical and predictive CLV.

Definitions stated in the report:
- RFM over valid orders up to the analysis date: recency = days since the last order, frequency =
  orders, monetary = GMV. Scores 1-5 by percent rank (``(rank - 1) / (n - 1)`` with ties sharing
  the lowest rank, score = 1 + floor(5 x percent rank), capped at 5): customers with equal values
  share a score, so a score may hold more or fewer than a fifth of customers. Recency scores are
  reversed (recent = 5). Segments from the R and F scores by the rules in :data:`SEGMENT_RULES`.
- Cohorts by the month of a customer's first valid order. Retention "in month N": share of the
  cohort buying in the N-th month after the first; "in or after month N": share buying in month N or
  any later month. Month 0 is 100% by construction (first-time purchases); later months are
  recurring purchases.
- Historical LTV: cumulative GMV per cohort customer by months since the first order.
- Predictive CLV: BG/NBD (purchases) and Gamma-Gamma (order value) from pymc-marketing, fitted by
  maximum likelihood (MAP with flat priors) on a calibration period, in weeks (days / 7, as in Fader,
  Hardie & Lee 2005), checked on the holdout period that follows.
"""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd

from analysis_lib.core import metrics as M
from analysis_lib.core.data import DataSource, as_date_bounds

# (segment, rule on r and f scores), first match wins
SEGMENT_RULES: list[tuple[str, str]] = [
    ("champions", "r >= 4 and f >= 4"),
    ("loyal", "r >= 3 and f >= 4"),
    ("new", "r == 5 and f == 1"),
    ("potential_loyalists", "r >= 4 and f >= 2"),
    ("promising", "r == 4 and f == 1"),
    ("need_attention", "r == 3 and f == 3"),
    ("about_to_sleep", "r == 3 and f <= 2"),
    ("cannot_lose", "r <= 2 and f == 5"),
    ("at_risk", "r <= 2 and f >= 3"),
    ("hibernating", "r <= 2 and f <= 2"),
]
SEGMENT_LABELS = {
    "champions": (
        "Champions",
        "重要价值用户",
        "Reward; early access, referrals",
        "奖励与专属权益，邀请推荐",
    ),
    "loyal": (
        "Loyal",
        "忠诚用户",
        "Upsell higher-value items; membership",
        "推荐高价值商品，会员体系",
    ),
    "new": ("New", "新用户", "Onboarding; second-order coupon", "新客引导，二单优惠券"),
    "potential_loyalists": (
        "Potential loyalists",
        "潜力用户",
        "Membership offers; recommendations",
        "会员邀请，个性化推荐",
    ),
    "promising": (
        "Promising",
        "有潜力新客",
        "Brand content; small incentives",
        "品牌内容，小额激励",
    ),
    "need_attention": (
        "Need attention",
        "需关注用户",
        "Limited-time offers based on history",
        "基于历史的限时优惠",
    ),
    "about_to_sleep": (
        "About to sleep",
        "即将沉睡",
        "Reactivation: popular items, reminders",
        "唤醒：热门商品，提醒",
    ),
    "cannot_lose": (
        "Cannot lose",
        "重要挽留用户",
        "Win back personally; best offers",
        "重点挽回，专属优惠",
    ),
    "at_risk": ("At risk", "流失风险用户", "Personal win-back campaign", "个性化召回活动"),
    "hibernating": (
        "Hibernating",
        "沉睡用户",
        "Low-cost reactivation or let go",
        "低成本唤醒或放弃",
    ),
}
DORMANT = ["about_to_sleep", "at_risk", "cannot_lose", "hibernating"]


def _score(col: ibis.Value, descending: bool = False) -> ibis.Value:
    """1 + floor(5 x percent rank), capped at 5; ties share the lowest rank."""
    w = ibis.window(order_by=[col.desc() if descending else col])
    pr = ibis.percent_rank().over(w)
    return ibis.least((pr * 5).floor().cast("int64") + 1, 5)


def _segment_expr(r: ibis.Value, f: ibis.Value) -> ibis.Value:
    env = {"r": r, "f": f}
    cases = []
    for name, rule in SEGMENT_RULES:
        cond = None
        for part in rule.split(" and "):
            var, op, val = part.split()
            v = env[var]
            c = {">=": v >= int(val), "<=": v <= int(val), "==": v == int(val)}[op]
            cond = c if cond is None else cond & c
        cases.append((cond, name))
    return ibis.cases(*cases, else_="other")


def rfm_table(src: DataSource, start, end) -> ibis.Table:
    """Per customer (in the engine): recency_days, frequency, monetary, r, f, m scores, segment."""
    lo, hi = as_date_bounds(start, end)
    o = M.valid_orders(src.table("orders"))
    o = o.filter((o.order_ts >= lo) & (o.order_ts < hi))
    c = o.group_by("user_id").aggregate(
        last_ts=o.order_ts.max(), frequency=o.count(), monetary=o.gmv.sum()
    )
    hi_s = float(pd.Timestamp(hi).timestamp())
    c = c.mutate(
        recency_days=(ibis.literal(hi_s) - c.last_ts.epoch_seconds().cast("float64")) / 86400.0
    )
    c = c.mutate(
        r=_score(c.recency_days, descending=True), f=_score(c.frequency), m=_score(c.monetary)
    )
    return c.mutate(segment=_segment_expr(c.r, c.f))


def segments(src: DataSource, rfm: ibis.Table) -> pd.DataFrame:
    """Per segment: customers, share of customers, GMV share, average recency/frequency/monetary."""
    df = src.execute(
        rfm.group_by("segment").aggregate(
            customers=rfm.count(),
            gmv=rfm.monetary.sum(),
            recency_days=rfm.recency_days.mean(),
            frequency=rfm.frequency.mean(),
            monetary=rfm.monetary.mean(),
        )
    )
    df["customer_share"] = df["customers"] / df["customers"].sum()
    df["gmv_share"] = df["gmv"] / df["gmv"].sum()
    order = {s: i for i, (s, _) in enumerate(SEGMENT_RULES)}
    return df.sort_values("segment", key=lambda s: s.map(order)).reset_index(drop=True)


def export_segment(src: DataSource, rfm: ibis.Table, segment: str, path: str) -> int:
    """Write the ids of one segment to a CSV for the CRM (outside reports/); returns the count."""
    import os
    from pathlib import Path

    ids = src.execute(rfm.filter(rfm.segment == segment).select("user_id").order_by("user_id"))
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{p.name}.tmp")
    ids.to_csv(tmp, index=False)
    os.replace(tmp, p)
    return len(ids)


def _month_index(ts: ibis.Value) -> ibis.Value:
    return ts.year() * 12 + ts.month()


def cohorts(src: DataSource, start, end, by: str | None = None) -> pd.DataFrame:
    """Per cohort (first-order month[, ``by`` value]) and month offset: buyers in that month,
    buyers in that month or later, GMV; plus cohort size. Aggregated in the engine."""
    lo, hi = as_date_bounds(start, end)
    o = M.valid_orders(src.table("orders"))
    o = o.filter((o.order_ts >= lo) & (o.order_ts < hi))
    o = o.mutate(mi=_month_index(o.order_ts))
    first = o.group_by("user_id").aggregate(c0=o.mi.min())
    if by is not None:
        u = src.table("users").select("user_id", by)
        first = first.join(u, "user_id", how="left").mutate(
            **{by: ibis.coalesce(ibis._[by].cast("string"), ibis.literal("(none)"))}
        )
    j = o.join(first, "user_id").mutate(offset=ibis._.mi - ibis._.c0)
    keys = ["c0", *([by] if by else [])]
    per = j.group_by([*keys, "offset"]).aggregate(buyers=j.user_id.nunique(), gmv=j.gmv.sum())
    last = j.group_by(["user_id", *keys]).aggregate(last_offset=j.offset.max())
    reach = src.execute(last.group_by([*keys, "last_offset"]).aggregate(n=last.count()))
    df = src.execute(per)
    size = df[df.offset == 0].set_index(keys)["buyers"].rename("size")
    df = df.join(size, on=keys)
    # in or after month N: customers whose last order is at offset >= N
    reach = reach.sort_values([*keys, "last_offset"])
    rows = []
    for key, g in reach.groupby(keys):
        counts = g.set_index("last_offset")["n"]
        max_off = int(counts.index.max())
        tail = counts.reindex(range(max_off + 1), fill_value=0)[::-1].cumsum()[::-1]
        for off, n in tail.items():
            rows.append((*((key,) if not isinstance(key, tuple) else key), off, n))
    ia = pd.DataFrame(rows, columns=[*keys, "offset", "buyers_in_or_after"])
    df = df.merge(ia, on=[*keys, "offset"], how="outer").sort_values([*keys, "offset"])
    df["size"] = df.groupby(keys)["size"].transform("max")
    df[["buyers", "gmv"]] = df[["buyers", "gmv"]].fillna(0)
    df["retention_in"] = df["buyers"] / df["size"]
    df["retention_in_or_after"] = df["buyers_in_or_after"] / df["size"]
    df["ltv"] = df.groupby(keys)["gmv"].cumsum() / df["size"]
    df["cohort"] = [f"{(c - 1) // 12}-{(c - 1) % 12 + 1:02d}" for c in df["c0"]]
    return df.reset_index(drop=True)


def retention_matrix(coh: pd.DataFrame, kind: str = "retention_in") -> pd.DataFrame:
    """Cohorts as rows, months since first order as columns (NaN where not yet observable)."""
    return coh.pivot_table(
        index="cohort", columns="offset", values=kind, aggfunc="first"
    ).sort_index()


def repeat_share(src: DataSource, start, end) -> dict[str, float]:
    """Customers, and the share with at least two valid orders in the period (repurchase rate)."""
    lo, hi = as_date_bounds(start, end)
    o = M.valid_orders(src.table("orders"))
    o = o.filter((o.order_ts >= lo) & (o.order_ts < hi))
    c = o.group_by("user_id").aggregate(n=o.count())
    r = src.execute(c.aggregate(customers=c.count(), repeat=(c.n >= 2).cast("int64").sum())).iloc[0]
    return {
        "customers": int(r["customers"]),
        "repeat_customer_share": float(r["repeat"] / r["customers"])
        if r["customers"]
        else float("nan"),
    }


def ltv_cac_by_channel(
    coh_by_channel: pd.DataFrame, src: DataSource, start, end, months: int = 12
) -> pd.DataFrame:
    """LTV per customer after ``months`` months by acquisition channel (cohorts old enough only),
    with CAC = spend of the channel / new customers of the channel where spend exists."""
    new = coh_by_channel[coh_by_channel.offset == 0].groupby("channel")["size"].sum()
    full = coh_by_channel[coh_by_channel.offset == months - 1]
    w = full.assign(w=full["ltv"] * full["size"]).groupby("channel")[["w", "size"]].sum()
    # size-weighted mean LTV of the cohorts old enough; n/a for a channel with none (or a period
    # shorter than ``months``), its new customers and CAC still shown
    out = pd.DataFrame(index=new.index.rename("channel"))
    out["ltv"] = (w["w"] / w["size"]).reindex(out.index)
    out["new_customers"] = new
    if src.has("marketing_spend"):
        lo, hi = as_date_bounds(start, end)
        ms = src.table("marketing_spend")
        ms = ms.filter((ms.date >= lo.date()) & (ms.date < hi.date()))
        sp = src.execute(ms.group_by("channel").aggregate(spend=ms.spend.sum())).set_index(
            "channel"
        )["spend"]
        out["spend"] = sp
        out["cac"] = M.cac(out["spend"], out["new_customers"])
        out["ltv_cac"] = M.safe_div(out["ltv"], out["cac"])
    return out.reset_index()


# ---- predictive CLV (pymc-marketing) ----


def rfm_summary(src: DataSource, start, calibration_end, holdout_end=None) -> pd.DataFrame:
    """Per customer, in weeks (days / 7): frequency (repeat purchase days), recency, T and mean
    repeat order value in the calibration period, and repeat purchases in the holdout period.
    Uses pymc-marketing's ``rfm_summary``; the per-customer daily transactions it needs are
    aggregated in the engine (one row per customer and day)."""
    from pymc_marketing.clv.utils import rfm_summary as _rfm

    lo, hi = as_date_bounds(start, holdout_end or calibration_end)
    o = M.valid_orders(src.table("orders"))
    o = o.filter((o.order_ts >= lo) & (o.order_ts < hi))
    daily = src.execute(
        o.group_by(["user_id", o.order_ts.truncate("D").name("date")]).aggregate(value=o.gmv.sum())
    )
    daily["date"] = pd.to_datetime(daily["date"])
    kw = dict(
        customer_id_col="user_id",
        datetime_col="date",
        monetary_value_col="value",
        time_unit="D",
        time_scaler=7,
    )
    cal = daily[daily.date <= pd.Timestamp(calibration_end)]
    s = _rfm(cal, observation_period_end=pd.Timestamp(calibration_end), **kw)
    if holdout_end is not None:
        hold = daily[
            (daily.date > pd.Timestamp(calibration_end)) & (daily.date <= pd.Timestamp(holdout_end))
        ]
        n = hold.groupby("user_id").size()
        s["holdout_purchases"] = s["customer_id"].map(n).fillna(0).astype(int)
        s.attrs["holdout_weeks"] = (
            pd.Timestamp(holdout_end) - pd.Timestamp(calibration_end)
        ).days / 7
    return s


def fit_clv(summary: pd.DataFrame):
    """Fit BG/NBD and Gamma-Gamma by maximum likelihood (MAP with flat priors, pymc-marketing).
    Returns (bg model, gg model or None, params dict)."""
    import warnings

    from pymc_extras.prior import Prior
    from pymc_marketing.clv import BetaGeoModel, GammaGammaModel

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bg = BetaGeoModel(
            data=summary[["customer_id", "frequency", "recency", "T"]],
            model_config={k: Prior("HalfFlat") for k in ["r", "alpha", "a", "b"]},
        )
        bg.fit(method="map", progressbar=False)
        params = {"bgnbd": {k: float(bg.fit_result[k].mean()) for k in ["r", "alpha", "a", "b"]}}
        rep = summary[(summary.frequency > 0) & (summary.monetary_value > 0)]
        gg = None
        if len(rep) >= 10:
            gg = GammaGammaModel(
                data=rep[["customer_id", "frequency", "monetary_value"]],
                model_config={k: Prior("HalfFlat") for k in ["p", "q", "v"]},
            )
            gg.fit(method="map", progressbar=False)
            params["gamma_gamma"] = {k: float(gg.fit_result[k].mean()) for k in ["p", "q", "v"]}
    return bg, gg, params


def holdout_check(bg, summary: pd.DataFrame, max_freq: int = 7) -> pd.DataFrame:
    """Predicted against actual repeat purchases in the holdout, by calibration frequency (the
    check of Fader, Hardie & Lee): mean per customer in each frequency group."""
    import warnings

    t = summary.attrs["holdout_weeks"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pred = bg.expected_purchases(
            data=summary[["customer_id", "frequency", "recency", "T"]], future_t=t
        )
    pred = np.asarray(pred.mean(("chain", "draw")))
    df = pd.DataFrame(
        {
            "frequency": summary["frequency"].clip(upper=max_freq),
            "actual": summary["holdout_purchases"],
            "predicted": pred,
        }
    )
    out = df.groupby("frequency").agg(
        customers=("actual", "size"), actual=("actual", "mean"), predicted=("predicted", "mean")
    )
    out.index = [f"{int(i)}+" if i == max_freq else str(int(i)) for i in out.index]
    return out.rename_axis("calibration_repeats").reset_index()


def findings(
    rep: dict, seg: pd.DataFrame, coh: pd.DataFrame, clv: dict | None, lang: str = "en"
) -> list[str]:
    """Plain-language findings generated from the numbers."""
    from analysis_lib.present.report import fmt

    en = lang != "zh"
    out = [
        f"{rep['customers']:,} customers; {fmt(rep['repeat_customer_share'], 'pct')} bought at least twice."
        if en
        else f"共 {rep['customers']:,} 位客户，{fmt(rep['repeat_customer_share'], 'pct')} 至少购买两次。"
    ]
    top = seg.sort_values("gmv_share", ascending=False).iloc[0]
    lbl = SEGMENT_LABELS.get(top.segment, (top.segment, top.segment))
    out.append(
        f"{lbl[0]} are {fmt(top.customer_share, 'pct')} of customers and bring {fmt(top.gmv_share, 'pct')} of GMV."
        if en
        else f"{lbl[1]}占客户 {fmt(top.customer_share, 'pct')}，贡献 {fmt(top.gmv_share, 'pct')} 的 GMV。"
    )
    dormant = seg[seg.segment.isin(DORMANT)]
    if len(dormant):
        out.append(
            f"{int(dormant.customers.sum()):,} customers are dormant or at risk ({fmt(dormant.gmv_share.sum(), 'pct')} of past GMV): the reactivation pool."
            if en
            else f"{int(dormant.customers.sum()):,} 位客户处于沉睡或流失风险（历史 GMV 占 {fmt(dormant.gmv_share.sum(), 'pct')}），是唤醒的目标人群。"
        )
    m1 = coh[coh.offset == 1]
    if len(m1):
        r1 = np.average(m1.retention_in, weights=m1["size"])
        out.append(
            f"On average {fmt(r1, 'pct')} of a cohort buys again in the month after its first order."
            if en
            else f"平均 {fmt(r1, 'pct')} 的新客在首购次月再次购买。"
        )
    if clv:
        b = clv["bgnbd"]
        out.append(
            f"BG/NBD fit: r = {b['r']:.3f}, alpha = {b['alpha']:.3f}, a = {b['a']:.3f}, b = {b['b']:.3f}."
            if en
            else f"BG/NBD 参数：r = {b['r']:.3f}，alpha = {b['alpha']:.3f}，a = {b['a']:.3f}，b = {b['b']:.3f}。"
        )
    return out
