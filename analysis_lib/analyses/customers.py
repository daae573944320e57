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
- Guest checkouts: when ``orders`` has the optional boolean column ``is_guest``, the orders marked
  true are left out of every per-customer figure here (RFM, cohorts, repeat share, LTV by
  channel, the CLV models): a guest checkout is not a known customer (an importer gives each its
  own user id, ``guest:<invoice>``, which would count it as a one-order customer; a shop may also
  put all its guests under one id, which would make one giant customer). A null counts as a known
  customer. :func:`guest_orders` says how many were left out; the KPI monitor still counts them
  as orders, GMV and buyers.
"""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass
from typing import Literal, NamedTuple

import ibis
import numpy as np
import pandas as pd

from analysis_lib.core import metrics as M
from analysis_lib.core.data import DataSource, as_date_bounds

# the RFM segments a rule names (a CRM export may ask for one of them), then the rest
NamedSegment = Literal[
    "champions",
    "loyal",
    "new",
    "potential_loyalists",
    "promising",
    "need_attention",
    "about_to_sleep",
    "cannot_lose",
    "at_risk",
    "hibernating",
]
Segment = Literal[NamedSegment, "other"]

# (segment, rule on r and f scores), first match wins
SEGMENT_RULES: list[tuple[Segment, str]] = [
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
# the segments to win back: customers who have stopped buying or are about to
DORMANT: list[Segment] = ["cannot_lose", "at_risk", "about_to_sleep", "hibernating"]
# A dormant segment is an action only when enough is at stake: at least this share of the period's
# GMV and this many customers. Below that a campaign costs more attention than it can bring back
# (CDNOW: "Cannot lose" is 11 customers with 0.1% of GMV, once listed first as the most urgent).
# Actions are ordered by the GMV share at stake, largest first.
MIN_WIN_BACK_GMV_SHARE = 0.01
MIN_WIN_BACK_CUSTOMERS = 50
# the optional boolean column of orders that marks a guest checkout (no known customer)
GUEST_COLUMN = "is_guest"


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


def customer_orders(src: DataSource, start, end) -> ibis.Table:
    """Valid orders of known customers in ``start .. end`` (inclusive dates): the base of every
    per-customer figure. Guest checkouts (``orders.is_guest`` true) are left out when the column
    exists; without it, every valid order of the period."""
    lo, hi = as_date_bounds(start, end)
    o = M.valid_orders(src.table("orders"))
    o = o.filter((o.order_ts >= lo) & (o.order_ts < hi))
    if GUEST_COLUMN in o.columns:
        o = o.filter(~o[GUEST_COLUMN].fill_null(False))
    return o


class Guests(NamedTuple):
    """Guest checkouts among the period's valid orders, left out of the customer analyses:
    ``orders`` and their ``gmv``, and their share of the period's valid orders and GMV."""

    orders: int
    gmv: float
    order_share: float
    gmv_share: float


def guest_orders(src: DataSource, start, end) -> Guests | None:
    """The valid orders of ``start .. end`` marked ``is_guest`` (one statement); ``None`` when
    ``orders`` has no such column (the shop records no guests)."""
    o = M.valid_orders(src.table("orders"))
    if GUEST_COLUMN not in o.columns:
        return None
    lo, hi = as_date_bounds(start, end)
    o = o.filter((o.order_ts >= lo) & (o.order_ts < hi))
    g = o[GUEST_COLUMN].fill_null(False)
    r = src.execute(
        o.aggregate(
            n=o.count(),
            gmv=o.gmv.sum().coalesce(0),
            gn=g.ifelse(1, 0).sum().coalesce(0),
            ggmv=g.ifelse(o.gmv, 0).sum().coalesce(0),
        )
    ).iloc[0]
    n, gmv = int(r["n"]), float(r["gmv"])
    return Guests(
        orders=int(r["gn"]),
        gmv=float(r["ggmv"]),
        order_share=int(r["gn"]) / n if n else float("nan"),
        gmv_share=float(r["ggmv"]) / gmv if gmv else float("nan"),
    )


# an active-sounding segment (not in DORMANT) whose customers last ordered longer ago than this
# on average: the scores are ranks, so in a shop where most customers lapsed long ago "Loyal"
# (R >= 3) can mean more than a year without an order (CDNOW: 456 days); the report says so
STALE_ACTIVE_DAYS = 365


def rfm_table(src: DataSource, start, end, last_day=None) -> ibis.Table:
    """Per customer (in the engine): recency_days, frequency, monetary, r, f, m scores, segment.
    Recency is counted to the end of the period, or of the data's last day when the data stops
    earlier (a late feed would otherwise age every customer)."""
    _, hi = as_date_bounds(start, end)
    o = customer_orders(src, start, end)
    c = o.group_by("user_id").aggregate(
        last_ts=o.order_ts.max(), frequency=o.count(), monetary=o.gmv.sum()
    )
    if last_day is not None:
        hi = min(pd.Timestamp(hi), pd.Timestamp(last_day) + pd.Timedelta(days=1))
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


def last_complete_month(end, last_day=None) -> int:
    """The month index (year x 12 + month) of the last calendar month the data holds in full:
    the period's end, or the data's last day when earlier, counts only if it is a month's last
    day. A cohort's months after it are not observed in full and are shown blank, never as a
    low rate (a partial month looks like a collapse)."""
    _, hi = as_date_bounds(end, end)
    bound = pd.Timestamp(hi) - pd.Timedelta(days=1)
    if last_day is not None:
        bound = min(bound, pd.Timestamp(last_day))
    mi = bound.year * 12 + bound.month
    return mi if (bound + pd.Timedelta(days=1)).month != bound.month else mi - 1


# months a cohort statement can hold as one customer's bit set (a signed 64-bit integer)
BIT_SET_MONTHS = 62


def cohort_cells(src: DataSource, start, end, by: str | None = None) -> ibis.Table:
    """Per cohort (first-order month ``c0``[, ``by`` value]) and month ``offset``: ``buyers`` in
    that month, ``gmv``, ``n_last`` (customers whose last month with an order it is) and
    ``first_repeats`` (customers whose second month with an order it is). One statement, no
    COUNT(DISTINCT): on DuckDB over a period of at most :data:`BIT_SET_MONTHS` months the months
    of each customer as a bit set (:func:`_cohort_cells_bits`), elsewhere window functions over
    one row per customer and month (:func:`_cohort_cells_windows`). Same figures."""
    o = customer_orders(src, start, end)
    lo, hi = as_date_bounds(start, end)
    base = _month_of(lo)
    months = _month_of(pd.Timestamp(hi) - pd.Timedelta(days=1)) - base + 1
    if getattr(src.con, "name", None) == "duckdb" and months <= BIT_SET_MONTHS:
        return _cohort_cells_bits(src, o, base, months, by)
    return _cohort_cells_windows(src, o, by)


def _month_of(ts) -> int:
    ts = pd.Timestamp(ts)
    return ts.year * 12 + ts.month


def _channel(src: DataSource, t: ibis.Table, by: str) -> ibis.Table:
    """``t`` (a ``user_id`` column) with the users' ``by`` column as text, '(none)' when missing."""
    u = src.table("users").select("user_id", by)
    return t.left_join(u, "user_id").select(
        *[c for c in t.columns],
        **{by: ibis.coalesce(u[by].cast("string"), ibis.literal("(none)"))},
    )


def _cohort_cells_bits(
    src: DataSource, o: ibis.Table, base: int, months: int, by: str | None
) -> ibis.Table:
    """:func:`cohort_cells` from one row per customer: the first month ``c`` and the months with
    an order as a bit set (month ``base + i`` is bit ``i``), grouped by (cohort, bit set); each
    group's bits give its buyers per month, its last month (the highest bit) and its second
    month (the bit after the cohort's). GMV per cell from the orders joined to their customer's
    cohort. Reads orders once per customer instead of sorting every customer's months."""
    one = ibis.literal(1, type="int64")
    o = o.select("user_id", "gmv", m=(_month_index(o.order_ts) - base).cast("int64"))
    pu = o.group_by("user_id").aggregate(c=o.m.min(), mask=(one << o.m).bit_or())
    keys = ["c", *([by] if by else [])]
    if by is not None:
        pu = _channel(src, pu, by)
    j = o.join(pu, "user_id")
    gmv = j.group_by([*keys, (j.m - j.c).name("offset")]).aggregate(gmv=j.gmv.sum())
    pat = pu.group_by([*keys, "mask"]).aggregate(n=pu.count())
    x = pat.mutate(offset=ibis.range(0, months).unnest().cast("int64"))
    x = x.mutate(p=x.c + x.offset)
    x = x.filter((x.p < months) & (((x.mask >> x.p) & 1) == 1))
    first_repeat = (x.offset > 0) & ((x.mask & ((one << x.p) - 1)) == (one << x.c))
    cell = x.group_by([*keys, "offset"]).aggregate(
        buyers=x.n.sum(),
        n_last=((x.mask >> (x.p + 1)) == 0).ifelse(x.n, 0).sum(),
        first_repeats=first_repeat.ifelse(x.n, 0).sum(),
    )
    k = cell.join(gmv, [*keys, "offset"])
    return k.select(
        c0=k.c + base,
        **({by: k[by]} if by else {}),
        offset=k.offset,
        buyers=k.buyers,
        gmv=k.gmv,
        n_last=k.n_last,
        first_repeats=k.first_repeats,
    )


def _cohort_cells_windows(src: DataSource, o: ibis.Table, by: str | None) -> ibis.Table:
    """:func:`cohort_cells` from one row per customer and month, whose first, last and second
    month are window functions over the customer's rows (no self-join)."""
    um = o.group_by(["user_id", _month_index(o.order_ts).name("mi")]).aggregate(g=o.gmv.sum())
    if by is not None:
        um = _channel(src, um, by)
    user = ibis.window(group_by=um.user_id)
    by_month = ibis.window(group_by=um.user_id, order_by=um.mi)
    w = um.mutate(
        c0=um.mi.min().over(user),
        mx=um.mi.max().over(user),
        rank=ibis.row_number().over(by_month),  # 0-based: 1 is the second month
    )
    keys = ["c0", *([by] if by else [])]
    return w.group_by([*keys, (w.mi - w.c0).name("offset")]).aggregate(
        buyers=w.count(),
        gmv=w.g.sum(),
        n_last=(w.mi == w.mx).ifelse(1, 0).sum(),
        first_repeats=(w.rank == 1).ifelse(1, 0).sum(),
    )


def cohorts(src: DataSource, start, end, by: str | None = None, last_day=None) -> pd.DataFrame:
    """Per cohort (first-order month[, ``by`` value]) and month offset: buyers in that month,
    buyers in that month or later, customers who have bought again by that month, GMV; plus
    cohort size. Aggregated in the engine in one statement (:func:`cohort_cells`). Every month
    from the first order to the last complete month (:func:`last_complete_month`) has a row;
    rates of months after it are NaN."""
    keys = ["c0", *([by] if by else [])]
    memo = ("customers.cohort_cells", start, end, by)  # a second call: the same expression
    if memo not in src.memo:
        src.memo[memo] = cohort_cells(src, start, end, by)
    cells = src.execute(src.memo[memo])
    return _cohort_table(cells, keys, last_complete_month(end, last_day))


def _cohort_table(cells: pd.DataFrame, keys: list[str], complete: int) -> pd.DataFrame:
    """The cohort table of :func:`cohorts` from the engine's cells: every month of each cohort
    from the first order to the last complete month (or the last with an order, so a month
    nobody bought in reads 0%, not n/a), the cumulative figures per cohort and the rates (NaN
    after ``complete``). Array arithmetic on the few hundred cells (sums of GMV as pandas adds
    them up, so the figures do not move by a last digit)."""
    cells = cells.sort_values([*keys, "offset"]).reset_index(drop=True)
    n = len(cells)
    new = np.zeros(n, dtype=bool)  # the first cell of each cohort (and ``by`` value)
    new[:1] = True
    for k in keys:
        col = cells[k].to_numpy()
        new[1:] |= col[1:] != col[:-1]
    first = np.flatnonzero(new)
    group = np.cumsum(new) - 1
    offset = cells["offset"].to_numpy().astype("int64")
    c0 = cells["c0"].to_numpy().astype("int64")
    last = np.append(first[1:], n)[: len(first)] - 1
    rows = np.maximum(np.maximum(complete - c0[first], 0), offset[last]) + 1
    at = np.cumsum(rows) - rows  # each group's first row
    grp = np.repeat(np.arange(len(first)), rows)
    put = at[group] + offset
    v = {}
    for c, dtype in (("buyers", "int64"), ("gmv", "float64"), ("n_last", "int64")):
        v[c] = np.zeros(len(grp), dtype=dtype)
        v[c][put] = cells[c].to_numpy().astype(dtype)
    v["first_repeats"] = np.zeros(len(grp))
    v["first_repeats"][put] = cells["first_repeats"].to_numpy().astype("float64")
    size = v["buyers"][at[grp]]  # offset 0: every customer of the cohort
    # in or after month N: customers whose last order is at offset >= N (counts: exact in any
    # order of addition)
    after = np.cumsum(v["n_last"][::-1])[::-1]
    after = after - np.append(after[at[1:]], 0)[grp]
    repeats = np.cumsum(v["first_repeats"])
    repeats = repeats - np.append(0.0, repeats[at[1:] - 1])[grp]
    c0_rows = c0[first][grp]
    off_rows = np.arange(len(grp), dtype="int64") - at[grp]
    rates = {
        "retention_in": v["buyers"] / size,
        "retention_in_or_after": after / size,
        # bought again by month N: a first repeat purchase in months 1..N (month 0: none yet)
        "repeat_by": repeats / size,
        "ltv": pd.Series(v["gmv"]).groupby(grp).cumsum().to_numpy() / size,
    }
    partial = (c0_rows + off_rows) > complete
    for r in rates.values():
        r[partial] = np.nan
    cols = {"c0": c0_rows}
    cols |= {k: cells[k].take(first[grp]).reset_index(drop=True) for k in keys[1:]}
    df = pd.DataFrame(
        {
            **cols,
            "offset": off_rows,
            "buyers": v["buyers"],
            "gmv": v["gmv"],
            "size": size,
            "buyers_in_or_after": after,
            "first_repeats": v["first_repeats"],
            **rates,
        }
    )
    labels = {c: f"{(c - 1) // 12}-{(c - 1) % 12 + 1:02d}" for c in np.unique(c0)}
    df["cohort"] = [labels[c] for c in c0_rows]
    return df


def retention_matrix(coh: pd.DataFrame, kind: str = "retention_in") -> pd.DataFrame:
    """Cohorts as rows, months since first order as columns (NaN where not yet observable)."""
    return coh.pivot_table(
        index="cohort", columns="offset", values=kind, aggfunc="first"
    ).sort_index()


class Repeat(NamedTuple):
    """Customers with a valid order in the period, and the share of them with at least two."""

    customers: int
    repeat_customer_share: float


def repeat_share(src: DataSource, start, end) -> Repeat:
    """Customers, and the share with at least two valid orders in the period (repurchase rate)."""
    o = customer_orders(src, start, end)
    c = o.group_by("user_id").aggregate(n=o.count())
    r = src.execute(c.aggregate(customers=c.count(), repeat=(c.n >= 2).cast("int64").sum())).iloc[0]
    n = int(r["customers"])
    return Repeat(n, float(r["repeat"] / n) if n else float("nan"))


def ltv_cac_by_channel(
    coh_by_channel: pd.DataFrame, src: DataSource, start, end, months: int = 12
) -> pd.DataFrame:
    """LTV per customer after ``months`` months by acquisition channel (cohorts old enough only),
    with CAC = spend of the channel / new customers of the channel where spend exists."""
    new = coh_by_channel[coh_by_channel.offset == 0].groupby("channel")["size"].sum()
    full = coh_by_channel[(coh_by_channel.offset == months - 1) & coh_by_channel.ltv.notna()]
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

    o = customer_orders(src, start, holdout_end or calibration_end)
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
    if cal.empty:  # no customer before the calibration's end: nothing to fit (pymc-marketing fails)
        s = pd.DataFrame(
            {c: pd.Series(dtype=float) for c in ["frequency", "recency", "T", "monetary_value"]}
        )
        s.insert(0, "customer_id", pd.Series(dtype=object))
    else:
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


# ---- predictive CLV: the forecast, and whether the fit can be trusted ----

# A BG/NBD fit learns how often customers buy and when they stop from the customers who bought
# again in the calibration period; with few of them the likelihood is flat and the optimiser can
# run off to parameters with no meaning (r 18.4, alpha 192,489 on a shop with 0.4% repeat
# customers). These limits flag such a fit; the report then shows no CLV.
MIN_REPEAT_CUSTOMERS = 50  # repeat customers in the calibration period
PARAM_RANGE = (1e-3, 1e4)  # a BG/NBD parameter outside it sits where the likelihood is flat
HOLDOUT_TOLERANCE = 0.25  # predicted holdout repeat purchases off by more than this share...
HOLDOUT_MIN_ACTUAL = 20  # ...judged only when the holdout holds at least this many
MIN_GAMMA_GAMMA = 10  # repeat customers with a value the spend model needs
MIN_TO_FIT = 10  # repeat customers below which no model is fitted at all (nothing to learn from)
# BG/NBD's chance that a customer stops after a purchase is Beta(a, b), mean a / (a + b). Below
# this mean the model says almost nobody ever stops (the sample shop: a = 0.005, b = 198, one in
# 41,000), so a customer gone for a year is still expected to come back and the hibernating
# segment gets the second-largest predicted GMV: implausible for any shop with lapsed customers.
MIN_DROPOUT = 0.01

FitIssue = Literal[
    "few_repeat_customers", "extreme_parameter", "no_dropout", "holdout_off", "no_spend_model"
]


class FitWarning(NamedTuple):
    """Why a CLV fit is not to be trusted: ``kind``, the parameter or figure concerned
    (``name``), its ``value`` and the ``limit`` it broke."""

    kind: FitIssue
    name: str
    value: float
    limit: float


class BgNbd(NamedTuple):
    """BG/NBD parameters (weeks): purchase rate ~ Gamma(r, alpha), dropout ~ Beta(a, b)."""

    r: float
    alpha: float
    a: float
    b: float


class GammaGamma(NamedTuple):
    """Gamma-Gamma parameters of the mean order value."""

    p: float
    q: float
    v: float


@dataclass(frozen=True)
class ClvForecast:
    """Predicted GMV of the period's customers over the next ``months`` months (undiscounted,
    GMV: the base is revenue, not margin): ``total``, ``per_customer`` (mean), ``median``, and
    per RFM segment (``by_segment``: segment, customers, clv_total, clv_mean, clv_share)."""

    months: int
    customers: int
    total: float
    per_customer: float
    median: float
    by_segment: pd.DataFrame
    values: np.ndarray  # per customer, for the distribution chart (no ids)


@dataclass(frozen=True)
class Clv:
    """Predictive CLV: the models fitted on ``start .. calibration_end``, checked on the holdout
    up to the period's end (``holdout``: by calibration repeat purchases; ``holdout_actual`` and
    ``holdout_predicted``: repeat purchases in all), the ``warnings`` that make the fit
    unreliable, and the ``forecast`` (``None`` when the fit is unreliable: it is not shown)."""

    calibration_end: _dt.date
    holdout_weeks: float
    bgnbd: BgNbd | None  # None: too few repeat customers to fit (MIN_TO_FIT)
    gamma_gamma: GammaGamma | None
    calibration_customers: int
    repeat_customers: int
    holdout: pd.DataFrame
    holdout_actual: float
    holdout_predicted: float
    warnings: tuple[FitWarning, ...]
    forecast: ClvForecast | None

    @property
    def reliable(self) -> bool:
        """Whether the fit passed every check (:func:`fit_warnings`)."""
        return not self.warnings


def fit_warnings(
    bgnbd: BgNbd,
    gamma_gamma: GammaGamma | None,
    repeat_customers: int,
    holdout_actual: float,
    holdout_predicted: float,
) -> tuple[FitWarning, ...]:
    """The reasons not to trust a fit: too few repeat customers to learn from, a parameter where
    the likelihood is flat, a model in which almost nobody stops buying (:data:`MIN_DROPOUT`), a
    holdout the model misses by more than :data:`HOLDOUT_TOLERANCE`, no spend model (too few
    repeat customers with a value)."""
    out = []
    if repeat_customers < MIN_REPEAT_CUSTOMERS:
        out.append(
            FitWarning(
                "few_repeat_customers", "repeat_customers", repeat_customers, MIN_REPEAT_CUSTOMERS
            )
        )
    lo, hi = PARAM_RANGE
    for name, v in bgnbd._asdict().items():
        if not math.isfinite(v) or not lo <= v <= hi:
            out.append(FitWarning("extreme_parameter", name, v, hi if v > hi else lo))
    dropout = bgnbd.a / (bgnbd.a + bgnbd.b) if bgnbd.a + bgnbd.b > 0 else float("nan")
    if not dropout >= MIN_DROPOUT:
        out.append(FitWarning("no_dropout", "dropout", dropout, MIN_DROPOUT))
    if holdout_actual >= HOLDOUT_MIN_ACTUAL:
        off = holdout_predicted / holdout_actual - 1
        if not abs(off) <= HOLDOUT_TOLERANCE:
            out.append(FitWarning("holdout_off", "holdout", off, HOLDOUT_TOLERANCE))
    if gamma_gamma is None:
        out.append(FitWarning("no_spend_model", "gamma_gamma", repeat_customers, MIN_GAMMA_GAMMA))
    return tuple(out)


def predict_clv(
    src: DataSource, rfm: ibis.Table, start, calibration_end, end, months: int = 12
) -> Clv:
    """Fit BG/NBD and Gamma-Gamma on ``start .. calibration_end``, check them on the holdout up
    to ``end``, and, when the fit passes :func:`fit_warnings`, predict each customer's GMV over
    the next ``months`` months from their whole history in the period (the calibration
    parameters applied to ``start .. end``, the forecast starting the day after ``end``), summed
    by RFM segment (``rfm``: :func:`rfm_table` of the same period)."""
    summ = rfm_summary(src, start, calibration_end, end)
    repeaters = int((summ["frequency"] > 0).sum())
    if repeaters < MIN_TO_FIT:  # the optimiser has nothing to learn from: no fit, say why
        return Clv(
            calibration_end=pd.Timestamp(calibration_end).date(),
            holdout_weeks=float(summ.attrs["holdout_weeks"]),
            bgnbd=None,
            gamma_gamma=None,
            calibration_customers=len(summ),
            repeat_customers=repeaters,
            holdout=pd.DataFrame(
                columns=["calibration_repeats", "customers", "actual", "predicted"]
            ),
            holdout_actual=float(summ["holdout_purchases"].sum()),
            holdout_predicted=float("nan"),
            warnings=(
                FitWarning(
                    "few_repeat_customers", "repeat_customers", repeaters, MIN_REPEAT_CUSTOMERS
                ),
            ),
            forecast=None,
        )
    bg, gg, params = fit_clv(summ)
    check = holdout_check(bg, summ)
    bgnbd = BgNbd(**params["bgnbd"])
    gamma = GammaGamma(**params["gamma_gamma"]) if "gamma_gamma" in params else None
    actual = float(summ["holdout_purchases"].sum())
    predicted = float((check.predicted * check.customers).sum())
    warnings = fit_warnings(bgnbd, gamma, repeaters, actual, predicted)
    forecast = None
    if not warnings:
        forecast = _forecast(src, rfm, bg, gg, start, end, months)
        if forecast is not None and not math.isfinite(forecast.total):
            forecast = None  # pragma: no cover - a fit that passed the checks gives finite values
    return Clv(
        calibration_end=pd.Timestamp(calibration_end).date(),
        holdout_weeks=float(summ.attrs["holdout_weeks"]),
        bgnbd=bgnbd,
        gamma_gamma=gamma,
        calibration_customers=len(summ),
        repeat_customers=repeaters,
        holdout=check,
        holdout_actual=actual,
        holdout_predicted=predicted,
        warnings=warnings,
        forecast=forecast,
    )


def _forecast(src, rfm, bg, gg, start, end, months: int) -> ClvForecast | None:
    """Each customer's expected GMV over ``months`` months after ``end`` (pymc-marketing's
    ``expected_customer_lifetime_value``: expected purchases month by month x expected order
    value, undiscounted), summed by segment."""
    import warnings

    full = rfm_summary(src, start, end)
    cols = ["customer_id", "frequency", "recency", "T", "monetary_value"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clv = gg.expected_customer_lifetime_value(
            transaction_model=bg, data=full[cols], future_t=months, discount_rate=0.0, time_unit="W"
        )
    values = np.asarray(clv.mean(("chain", "draw")), dtype=float)
    seg = src.execute(rfm.select("user_id", "segment"))
    per = pd.DataFrame({"user_id": full["customer_id"].to_numpy(), "clv": values}).merge(
        seg, on="user_id", how="left"
    )
    g = per.groupby("segment")["clv"]
    by = pd.DataFrame({"customers": g.size(), "clv_total": g.sum(), "clv_mean": g.mean()})
    by["clv_share"] = by["clv_total"] / by["clv_total"].sum()
    order = {s: i for i, (s, _) in enumerate(SEGMENT_RULES)}
    by = by.reset_index().sort_values("segment", key=lambda s: s.map(order)).reset_index(drop=True)
    return ClvForecast(
        months=months,
        customers=len(per),
        total=float(values.sum()),
        per_customer=float(values.mean()) if len(values) else float("nan"),
        median=float(np.median(values)) if len(values) else float("nan"),
        by_segment=by,
        values=values,
    )


@dataclass(frozen=True)
class CustomerValue:
    """Everything the customer value report shows, computed once: the repeat share, RFM
    segments, cohorts, LTV and CAC by acquisition channel (``None`` without a users channel),
    predictive CLV (``None`` when not asked for), the size of the segment export, and the guest
    checkouts left out of all of it (``None``: the orders mark no guests)."""

    repeat: Repeat
    segments: pd.DataFrame
    cohorts: pd.DataFrame
    by_channel: pd.DataFrame | None
    clv: Clv | None
    exported: int | None
    guests: Guests | None = None

    @property
    def dormant(self) -> pd.DataFrame:
        """The win-back pool (:data:`DORMANT` segments), largest share of GMV first: what is at
        stake, not the segment's name, says which comes first."""
        seg = self.segments.set_index("segment")
        pool = seg.loc[[s for s in DORMANT if s in seg.index]].reset_index()
        return pool.sort_values("gmv_share", ascending=False, kind="stable").reset_index(drop=True)

    @property
    def stale_active(self) -> pd.DataFrame:
        """Active-sounding segments (not :data:`DORMANT`) whose customers last ordered more than
        :data:`STALE_ACTIVE_DAYS` ago on average, longest first."""
        seg = self.segments
        out = seg[~seg.segment.isin([*DORMANT, "other"]) & (seg.recency_days > STALE_ACTIVE_DAYS)]
        return out.sort_values("recency_days", ascending=False).reset_index(drop=True)

    @property
    def win_back(self) -> pd.DataFrame:
        """The dormant segments worth an action (:data:`MIN_WIN_BACK_GMV_SHARE` of GMV and
        :data:`MIN_WIN_BACK_CUSTOMERS` customers at least), largest share of GMV first."""
        d = self.dormant
        return d[_worth_winning_back(d)].reset_index(drop=True)

    @property
    def too_small(self) -> pd.DataFrame:
        """The dormant segments below the thresholds of :attr:`win_back` (not an action)."""
        d = self.dormant
        return d[~_worth_winning_back(d) & (d["customers"] > 0)].reset_index(drop=True)


def _worth_winning_back(pool: pd.DataFrame) -> pd.Series:
    return (pool["gmv_share"] >= MIN_WIN_BACK_GMV_SHARE) & (
        pool["customers"] >= MIN_WIN_BACK_CUSTOMERS
    )


def has_channel(src: DataSource) -> bool:
    """Whether the users table has an acquisition channel (LTV and CAC by channel need it)."""
    return src.has("users") and "channel" in src.table("users").columns
