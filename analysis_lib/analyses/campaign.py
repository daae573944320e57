"""Campaign retrospective (活动复盘): what a promotion with pre-heat (预热), burst (爆发) and return
(返场) phases really added, what it cost, what worked.

The counterfactual of daily GMV comes from :mod:`analysis_lib.analyses.causal` (R CausalImpact's model,
sampled by MCMC), fitted on the pre-period (the params' ``period``) and projected over the campaign
and a post window; every phase's effect, the net effect and the ROI are computed per posterior
draw, so their intervals carry the model's uncertainty (not sums of bounds).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from analysis_lib.analyses import causal, kpi
from analysis_lib.analyses import funnel as F
from analysis_lib.core import metrics as M
from analysis_lib.core.data import DataSource, as_date_bounds
from analysis_lib.errors import DataError

PhaseName = Literal["preheat", "burst", "return", "post", "campaign", "net"]
Verdict = Literal["worked", "did_not_work", "inconclusive"]
PHASES: tuple[PhaseName, ...] = ("preheat", "burst", "return", "post")
FUNNEL_STEPS = ("page_view", "product_view", "add_to_cart", "checkout", "purchase")


@dataclass(frozen=True)
class Campaign:
    """One campaign's dates and plan from the campaigns table; ``post_end`` closes the post
    window the notebook looks at after the campaign ends."""

    campaign_id: str
    name: str
    preheat_start: _dt.date
    burst_start: _dt.date
    burst_end: _dt.date
    end_date: _dt.date
    post_end: _dt.date
    target_gmv: float | None = None
    budget: float | None = None

    @property
    def days(self) -> int:
        """Days from pre-heat to end."""
        return (self.end_date - self.preheat_start).days + 1

    @property
    def base_end(self) -> _dt.date:
        """The last day before pre-heat (the end of the pre-period)."""
        return self.preheat_start - _dt.timedelta(days=1)


def load(src: DataSource, campaign_id: str, post_window: int) -> Campaign:
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

    def money(col):
        return float(r[col]) if col in r and not pd.isna(r[col]) else None

    camp = Campaign(
        campaign_id=campaign_id,
        name=str(r["name"]),
        preheat_start=day("preheat_start", start),
        burst_start=day("burst_start", start),
        burst_end=day("burst_end", end),
        end_date=end,
        post_end=end + _dt.timedelta(days=post_window),
        target_gmv=money("target_gmv"),
        budget=money("budget"),
    )
    order = [camp.preheat_start, camp.burst_start, camp.burst_end, camp.end_date]
    if not all(a <= b for a, b in zip(order, order[1:], strict=False)):
        raise DataError(
            f"{src.where('campaigns')}: campaign '{campaign_id}': phases overlap or run backwards "
            f"(preheat {order[0]}, burst {order[1]}..{order[2]}, end {order[3]})"
        )
    return camp


def phase_of(days: pd.DatetimeIndex, camp: Campaign) -> pd.Series:
    """The phase of each day of the effect window."""
    d = pd.Series(days.date, index=days)
    return pd.Series(
        np.select(
            [d < camp.burst_start, d <= camp.burst_end, d <= camp.end_date],
            ["preheat", "burst", "return"],
            "post",
        ),
        index=days,
    )


def daily_gmv(src: DataSource, start, end) -> pd.Series:
    """Valid-order GMV per day, every day present."""
    s = kpi.kpi_series(src, start, end, "day").set_index("bucket")["gmv"]
    s.index = pd.DatetimeIndex(s.index)
    return s


def _controls_over(controls: pd.DataFrame | None, index: pd.DatetimeIndex) -> pd.DataFrame | None:
    c = controls.reindex(index) if controls is not None else None
    if c is not None and c.isna().any().any():
        raise DataError(
            "controls: the control series do not cover every day of the pre-period and campaign"
        )
    return c


def impact(
    src: DataSource,
    camp: Campaign,
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
    y = daily_gmv(src, pre_start, camp.post_end)
    return causal.estimate(
        y,
        pd.Timestamp(camp.preheat_start),
        _controls_over(controls, y.index),
        seasonal,
        alpha,
        niter=niter,
        seed=seed,
        prior_level_sd=prior_level_sd,
    )


def placebo(
    src: DataSource,
    camp: Campaign,
    pre_start,
    controls: pd.DataFrame | None = None,
    seasonal: int | None = 7,
    prior_level_sd: float | str = causal.R_LEVEL_SDS[0],
) -> causal.Placebo:
    """The same model on a fake campaign start inside the pre-period
    (:func:`analysis_lib.analyses.causal.placebo`)."""
    y = daily_gmv(src, pre_start, camp.post_end)
    c = controls.reindex(y.index) if controls is not None else None
    return causal.placebo(
        y, pd.Timestamp(camp.preheat_start), c, seasonal, prior_level_sd=prior_level_sd
    )


def phase_effects(imp: causal.Impact, camp: Campaign) -> dict[PhaseName, causal.Effect]:
    """Effect per phase, during the campaign (pre-heat to return), and net with the post window
    (``net`` is the whole window: the same figure as ``imp.summary``), in that order."""
    ph = phase_of(imp.series.index, camp)
    out: dict[PhaseName, causal.Effect] = {}
    for p in PHASES:
        mask = (ph == p).to_numpy()
        if mask.any():
            out[p] = imp.window(mask)
    out["campaign"] = imp.window((ph != "post").to_numpy())
    out["net"] = imp.window(np.ones(len(ph), bool))
    return out


def verdict(ci_low: float, ci_high: float, higher_is_better: bool = True) -> Verdict:
    """Worked when the whole interval is on the good side of zero, did not work when it is
    wholly on the bad side, otherwise inconclusive (REPORTS.md: never "did not work" for an
    interval that includes zero)."""
    if ci_low > 0 or ci_high < 0:
        return "worked" if (ci_low > 0) == higher_is_better else "did_not_work"
    return "inconclusive"


def spend_by_channel(src: DataSource, camp: Campaign) -> pd.Series:
    """Campaign spend per channel: rows tagged with the campaign id, or else all spend between
    pre-heat and end."""
    if not src.has("marketing_spend"):
        return pd.Series(dtype=float)
    ms = src.table("marketing_spend")
    if "campaign_id" in ms.columns:
        sel = ms.filter(ms.campaign_id == camp.campaign_id)
    else:
        sel = ms.filter((ms.date >= camp.preheat_start) & (ms.date <= camp.end_date))
    return (
        src.execute(sel.group_by("channel").aggregate(spend=sel.spend.sum()))
        .set_index("channel")["spend"]
        .astype(float)
    )


def channel_gmv_share(src: DataSource, camp: Campaign) -> pd.Series:
    """Share of campaign GMV (pre-heat to end) by order channel; empty when orders have no
    ``channel`` column (an optional one)."""
    lo, hi = as_date_bounds(camp.preheat_start, camp.end_date)
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


@dataclass(frozen=True)
class Roi:
    """Return on the campaign's spend, on one stated base: ROI = (incremental GMV x margin -
    spend) / spend and incremental ROAS = incremental GMV / spend, where incremental GMV is the
    net incremental GMV (campaign and post window against the counterfactual: the report's card)
    and spend all campaign spend. Computed per posterior draw, so the interval carries the
    model's uncertainty; being a straight line in the incremental GMV, ROI's estimate and bounds
    are exactly that line at the incremental GMV's estimate and bounds (a test checks)."""

    spend: float
    margin: float
    incremental_gmv: float
    estimate: float
    ci_low: float
    ci_high: float
    iroas: float
    iroas_lo: float
    iroas_hi: float

    def interval(self) -> dict[str, float]:
        """``estimate``, ``ci_low``, ``ci_high``: the shape results.json records."""
        return {"estimate": self.estimate, "ci_low": self.ci_low, "ci_high": self.ci_high}


@dataclass(frozen=True)
class RoiResult:
    """The campaign's ROI (``total``; None without recorded spend) and the channel attribution
    (``channels``: one row per channel with spend: its share of campaign GMV, the net incremental
    GMV attributed by that share, and ROI and incremental ROAS on it; descriptive, since a share
    of GMV is not a causal split). ``unpaid_share`` is the share of campaign GMV through channels
    without spend (organic, direct...), whose attributed GMV no channel row holds."""

    total: Roi | None
    channels: pd.DataFrame
    unpaid_share: float = 0.0


CHANNEL_COLUMNS = ["channel", "spend", "gmv_share", "incremental_gmv", "roi", "roi_lo", "roi_hi"]
CHANNEL_COLUMNS += ["iroas", "iroas_lo", "iroas_hi"]


def roi(
    imp: causal.Impact,
    spend: pd.Series,
    shares: pd.Series,
    margin: float,
    alpha: float = 0.05,
) -> RoiResult:
    """The campaign's :class:`Roi` (all net incremental GMV against all spend) and per channel
    with spend the same on the net incremental GMV attributed by the channel's share of campaign
    GMV; each per posterior draw. Without channel shares (orders without a channel) no channel
    rows.

    Point figures come from the draws without observation noise (as the net incremental GMV of
    :meth:`causal.Impact.window` does, so the ROI and the incremental GMV shown agree); intervals
    from the posterior predictive draws."""
    net = imp.actual.sum() - imp.paths.sum(axis=1)  # net incremental GMV per draw
    net_point = float(imp.actual.sum() - imp.means.sum(axis=1).mean())
    a = alpha / 2

    def on(share: float, cost: float) -> Roi:
        inc, point = net * share, net_point * share
        r, ir = (inc * margin - cost) / cost, inc / cost
        return Roi(
            spend=cost,
            margin=margin,
            incremental_gmv=point,
            estimate=(point * margin - cost) / cost,
            ci_low=float(np.quantile(r, a)),
            ci_high=float(np.quantile(r, 1 - a)),
            iroas=point / cost,
            iroas_lo=float(np.quantile(ir, a)),
            iroas_hi=float(np.quantile(ir, 1 - a)),
        )

    rows = []
    paid = 0.0
    if len(shares):
        for ch, cost in spend.items():
            share = float(shares.get(ch, 0.0))
            paid += share
            if cost > 0:
                x = on(share, float(cost))
                rows.append(
                    [ch, x.spend, share, x.incremental_gmv, x.estimate, x.ci_low, x.ci_high]
                    + [x.iroas, x.iroas_lo, x.iroas_hi]
                )
    total = float(spend.sum()) if len(spend) else 0.0
    return RoiResult(
        total=on(1.0, total) if total > 0 else None,
        channels=pd.DataFrame(rows, columns=CHANNEL_COLUMNS),
        unpaid_share=1.0 - paid if len(shares) else 0.0,
    )


def new_customers(src: DataSource, camp: Campaign) -> int:
    """Buyers whose first valid order ever falls between pre-heat and end."""
    lo, hi = as_date_bounds(camp.preheat_start, camp.end_date)
    o = M.valid_orders(src.table("orders"))
    first = o.group_by("user_id").aggregate(first_ts=o.order_ts.min())
    return int(src.execute(first.filter((first.first_ts >= lo) & (first.first_ts < hi)).count()))


def category_contribution(src: DataSource, camp: Campaign, pre_start) -> pd.DataFrame:
    """GMV by product category during the campaign against its pre-period daily run rate: the
    extra GMV of each category and its share of all extra GMV (descriptive, not causal)."""
    if not (src.has("order_items") and src.has("products")):
        return pd.DataFrame(columns=["category", "campaign_gmv", "extra_gmv", "share_of_extra"])
    o = M.valid_orders(src.table("orders")).select("order_id", "order_ts")
    it = src.table("order_items")
    p = src.table("products").select("sku", "category")
    j = it.join(o, "order_id").join(p, "sku")
    out = []
    for name, (a, b) in {
        "pre": (pre_start, camp.base_end),
        "campaign": (camp.preheat_start, camp.end_date),
    }.items():
        lo, hi = as_date_bounds(a, b)
        s = j.filter((j.order_ts >= lo) & (j.order_ts < hi))
        g = src.execute(
            s.group_by("category").aggregate(gmv=(s.quantity * s.unit_price).sum())
        ).set_index("category")["gmv"]
        out.append((g / ((b - a).days + 1)).rename(name))
    df = pd.concat(out, axis=1).fillna(0.0)
    df["campaign_gmv"] = df["campaign"] * camp.days
    df["extra_gmv"] = (df["campaign"] - df["pre"]) * camp.days
    df["share_of_extra"] = df["extra_gmv"] / df["extra_gmv"].sum()
    return (
        df.drop(columns=["pre", "campaign"])
        .sort_values("extra_gmv", ascending=False)
        .rename_axis("category")
        .reset_index()
    )


def burst_funnel(src: DataSource, camp: Campaign, alpha: float = 0.05) -> pd.DataFrame | None:
    """Step conversion in the burst against as many whole weeks before pre-heat as the burst
    lasts (at least one), sessions within a day of their first page view, with a two-proportion
    z-test per step (:func:`analysis_lib.analyses.funnel.compare_periods`) and its verdict at
    ``alpha``. None without an events table (most order exports have none)."""
    if not src.has("events"):
        return None
    spec = F.FunnelSpec(FUNNEL_STEPS, window=86400.0)
    days = (camp.burst_end - camp.burst_start).days + 1
    base_start = camp.base_end - _dt.timedelta(days=7 * max(1, -(-days // 7)) - 1)
    out = F.compare_periods(
        F.funnel(src, spec, camp.burst_start, camp.burst_end),
        F.funnel(src, spec, base_start, camp.base_end),
    )
    sig = out["p_value"] < alpha
    out["verdict"] = np.where(
        sig & (out["change"] > 0), "worked", np.where(sig, "did_not_work", "inconclusive")
    )
    return out


@dataclass(frozen=True)
class Observed:
    """Observed figures of a campaign (pre-heat to end): GMV, orders, buyers, target achievement
    (GMV / target), spend, ROAS (GMV / spend, not incremental), new customers and CAC."""

    campaign_id: str
    name: str
    gmv: float
    orders: int
    buyers: int
    target_gmv: float | None
    target_achievement: float | None
    spend: float
    roas: float | None
    new_customers: int
    cac: float | None


def describe(src: DataSource, camp: Campaign) -> Observed:
    """The :class:`Observed` figures of a campaign."""
    t = kpi.kpi_totals(src, camp.preheat_start, camp.end_date)
    spend = float(spend_by_channel(src, camp).sum())
    new = new_customers(src, camp)
    return Observed(
        campaign_id=camp.campaign_id,
        name=camp.name,
        gmv=t["gmv"],
        orders=t["orders"],
        buyers=t["buyers"],
        target_gmv=camp.target_gmv,
        target_achievement=t["gmv"] / camp.target_gmv if camp.target_gmv else None,
        spend=spend,
        roas=M.roas(t["gmv"], spend),
        new_customers=new,
        cac=M.cac(spend, new),
    )


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


@dataclass(frozen=True)
class Retro:
    """Everything one campaign retrospective shows: the campaign, the counterfactual
    (``impact``) and its placebo check, the effect per phase, the observed figures, the ROI, the
    category contribution, the burst funnel (None without events), earlier campaigns'
    observed figures, the margin and post window the figures rest on, and the control series'
    names."""

    camp: Campaign
    impact: causal.Impact
    placebo: causal.Placebo
    phases: dict[PhaseName, causal.Effect]
    observed: Observed
    roi: RoiResult
    categories: pd.DataFrame
    funnel: pd.DataFrame | None
    others: list[Observed] = field(default_factory=list)
    margin: float = 0.3
    post_window: int = 14
    pre_start: _dt.date | None = None
    controls: list[str] = field(default_factory=list)

    @property
    def net(self) -> causal.Effect:
        """Net incremental GMV: the campaign and its post window against the counterfactual."""
        return self.phases["net"]
