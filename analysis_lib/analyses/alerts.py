"""Anomaly alerts on the daily KPIs (数据监控预警): each day's expected value with an interval, from a
model of the series' own history, and the days outside it.

The model, one per KPI series (the shop's total, and each channel and device where the tables have
them), fitted once on a trailing history window that ends the day before the first day judged:

- a generalised linear model (statsmodels GLM) with a trend, the day of the week, the yearly
  cycle (one pair of Fourier terms once the history spans 300 days, two from 730) and the promo
  calendar (the ``campaigns`` table: pre-heat, burst, return and the two weeks after);
- the trend piecewise linear, free to bend every quarter back from the history's end (after its
  first year), so the last quarter's level and growth carry it forward, not a line through two
  years of a shop whose growth slowed;
- each campaign of the history its own effect in each phase; a campaign judged is expected to do
  what they did on average, give or take their spread (a random effect: DerSimonian-Laird's
  between-campaign variance, widening the interval on campaign days only), and campaign days
  have their own overdispersion once the history holds enough of them;
- counts (orders, buyers, UV) on a log link with Poisson variance times an overdispersion
  factor; GMV likewise (variance proportional to the mean); rates on a logit link with binomial
  variance times an overdispersion factor, so the interval respects the day's denominator:
  conversion rate = buyers / UV, refund rate = refunded GMV / GMV with the day's orders as its
  trials; AOV on the log scale weighted by the day's orders;
- the predictive distribution of a day adds the estimate's own uncertainty to the noise:
  negative binomial for counts, gamma for GMV, beta-binomial for rates, log-normal for AOV;
- robust to the history's own anomalies: days more than 4 Pearson residuals off the first fit
  are left out of the second (and days with no rows are never fitted).

A day is an anomaly when its value lies outside the central ``1 - alpha`` interval of that
distribution and ``p``, the two-sided tail probability of the value under the model, is below
``alpha`` (the two agree but for the steps of a discrete distribution). ``alpha`` is
the nominal false-alert rate per KPI-day; a breakdown with ``k`` values judges each at
``alpha / k`` (Bonferroni), so a KPI's channels together raise no more false alerts than its total.

A day without a row in the orders or events table (a feed that did not arrive) is its own alert
(:class:`NoData`) and is not judged. Rules in params add thresholds (:class:`Threshold`) and targets
month to date (:class:`TargetMiss`). This module computes; it holds no words.
"""

from __future__ import annotations

import datetime as _dt
import math
import warnings
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from analysis_lib.core import metrics as M
from analysis_lib.core.data import DataSource, as_date_bounds
from analysis_lib.core.lazy import lazy

# imported at first use: a KPI report without an alerts: section never needs them (2 s of imports)
sm = lazy("statsmodels.api")
stats = lazy("scipy.stats")

Kind = Literal["count", "money", "rate", "mean"]
Direction = Literal["up", "down"]
Severity = Literal["info", "warning", "critical"]

# each KPI: how it is modelled, its numerator and denominator columns of the daily frame
KPI_MODEL: dict[str, tuple[Kind, str, str | None]] = {
    "gmv": ("money", "gmv", None),
    "orders": ("count", "orders", None),
    "buyers": ("count", "buyers", None),
    "uv": ("count", "uv", None),
    "conversion_rate": ("rate", "buyers", "uv"),
    "aov": ("mean", "gmv", "orders"),
    "refund_rate": ("rate", "refunded_gmv", "gmv"),
}
ALERT_KPIS = list(KPI_MODEL)
# the tables each KPI is counted from
NEEDS = {k: ("orders",) for k in KPI_MODEL} | {
    "uv": ("events",),
    "conversion_rate": ("orders", "events"),
}
DIMENSIONS = ("channel", "device")
ADDITIVE = {"gmv", "orders", "buyers", "uv"}
PHASES = ("preheat", "burst", "return", "post")
POST_DAYS = 14
MIN_HISTORY = 56  # days: eight weeks before a weekly pattern can be told from noise
OUTLIER = 4.0  # Pearson residuals: history days this far off the first fit are left out
KNOT_DAYS = 91  # the trend is piecewise linear, bending every quarter back from the history's end:
# its last quarter's level and slope carry it forward (a shop's growth slows or speeds up; one
# straight line through two years would extrapolate the old growth)
HALF_LIFE = 365  # days: the weight of a history day halves every HALF_LIFE days back, so the
# level follows the shop (a local trend) while a year back still informs the yearly cycle


# --- the daily frame ------------------------------------------------------------------------------


def daily(
    src: DataSource, start: _dt.date, end: _dt.date, dims: tuple[str, ...] = DIMENSIONS
) -> pd.DataFrame:
    """One row per day and series in ``[start, end]``: ``dimension`` and ``value`` ("" for the
    shop's total), gmv, orders, buyers, refunded_gmv (valid orders), uv (NaN without events),
    and for the total ``rows_orders`` and ``rows_events``: rows of any status that day (0: the
    feed did not arrive). Days without a row are present with zeros. ``dims``: the breakdowns
    asked for; those the tables lack are left out."""
    lo, hi = as_date_bounds(start, end)
    o_all = src.table("orders")
    o_all = o_all.filter((o_all.order_ts >= lo) & (o_all.order_ts < hi))
    o = M.valid_orders(o_all)
    o = o.mutate(day=o.order_ts.date())
    traffic = src.has("events")
    ev = None
    if traffic:
        ev = src.table("events")
        ev = ev.filter((ev.event_ts >= lo) & (ev.event_ts < hi)).mutate(day=ev.event_ts.date())
    days = pd.date_range(start, end, freq="D", name="day")
    frames = []
    for dim in ("", *dims):
        if dim and dim not in o.columns:
            continue
        keys = ["day"] + ([dim] if dim else [])
        g = src.execute(
            o.group_by(keys).aggregate(**M.order_aggregates(o), gmv_sq=(o.gmv * o.gmv).sum())
        )
        if traffic and (not dim or dim in ev.columns):
            u = src.execute(ev.group_by(keys).aggregate(uv=ev.user_id.nunique()))
            g = g.merge(u, on=keys, how="outer")
        elif traffic:
            g["uv"] = np.nan  # events without this column: no UV by it
        else:
            g["uv"] = np.nan
        g["day"] = pd.to_datetime(g["day"])
        if dim:
            g = g.rename(columns={dim: "value"})
            g["value"] = g["value"].astype("string").fillna("(none)").astype(str)
            values = sorted(g["value"].unique())
        else:
            g["value"] = ""
            values = [""]
        full = pd.MultiIndex.from_product([days, values], names=["day", "value"])
        g = g.set_index(["day", "value"]).reindex(full).reset_index()
        for c in ("gmv", "orders", "buyers", "refunded_gmv", "gmv_sq"):
            g[c] = g[c].fillna(0.0).astype(float)
        if traffic and (not dim or dim in ev.columns):
            g["uv"] = g["uv"].fillna(0.0).astype(float)
        g["dimension"] = dim
        frames.append(g)
    df = pd.concat(frames, ignore_index=True)
    od = o_all.mutate(day=o_all.order_ts.date())
    rows_o = src.execute(od.group_by("day").aggregate(n=od.count()))
    rows = pd.DataFrame(index=days)
    rows["rows_orders"] = _per_day(rows_o, days)
    if traffic:
        rows_e = src.execute(ev.group_by("day").aggregate(n=ev.count()))
        rows["rows_events"] = _per_day(rows_e, days)
    else:
        rows["rows_events"] = np.nan
    df = df.merge(rows.rename_axis("day").reset_index(), on="day", how="left")
    return df[
        ["day", "dimension", "value", "gmv", "orders", "buyers", "refunded_gmv", "gmv_sq", "uv"]
        + ["rows_orders", "rows_events"]
    ]


def order_values(src: DataSource, start: _dt.date, end: _dt.date, dims: tuple[str, ...]):
    """The GMV of each valid order in ``[start, end]`` with its day and breakdown columns (the
    spread of order values a day's GMV is a sum of: its tail is the orders', not a normal's)."""
    lo, hi = as_date_bounds(start, end)
    o = M.valid_orders(src.table("orders"))
    o = o.filter((o.order_ts >= lo) & (o.order_ts < hi))
    cols = ["gmv"] + [d for d in dims if d in o.columns]
    df = src.execute(o.select(day=o.order_ts.date(), **{c: o[c] for c in cols}))
    df["day"] = pd.to_datetime(df["day"])
    for d in cols[1:]:
        df[d] = df[d].astype("string").fillna("(none)").astype(str)
    return df


def _per_day(counts: pd.DataFrame, days: pd.DatetimeIndex) -> np.ndarray:
    s = counts.assign(day=pd.to_datetime(counts["day"])).set_index("day")["n"]
    return s.reindex(days).fillna(0).to_numpy(float)


def missing_days(frame: pd.DataFrame, traffic: bool) -> dict[_dt.date, tuple[str, ...]]:
    """Days without a row in a table, each with the tables (``orders``, ``events``): a feed
    that did not arrive, or (orders only, visits as usual) nothing could be bought: a payment
    outage looks the same in the data, and either way the day's order KPIs are not judged."""
    tot = frame[frame["dimension"] == ""]
    out: dict[_dt.date, tuple[str, ...]] = {}
    for r in tot.itertuples():
        gone = tuple(
            t
            for t, n in (("orders", r.rows_orders), ("events", r.rows_events))
            if (t == "orders" or traffic) and n == 0
        )
        if gone:
            out[r.day.date()] = gone
    return out


# --- the promo calendar ---------------------------------------------------------------------------


def promo_calendar(src: DataSource) -> pd.DataFrame:
    """Campaign phases by day (columns :data:`PHASES`, 0/1, and ``campaign``: its id), from the
    ``campaigns`` table (pre-heat from ``preheat_start`` to the day before ``burst_start``, the
    burst, the return to ``end_date``, then :data:`POST_DAYS` days after); empty without a
    campaigns table. Without the phase columns a campaign is one burst from start to end."""
    if not src.has("campaigns"):
        return pd.DataFrame(columns=list(PHASES), dtype=float)
    c = src.execute(src.table("campaigns"))
    rows = []
    for r in c.to_dict("records"):
        s, e = pd.Timestamp(r["start_date"]), pd.Timestamp(r["end_date"])
        pre = pd.Timestamp(r["preheat_start"]) if pd.notna(r.get("preheat_start")) else None
        b0 = pd.Timestamp(r["burst_start"]) if pd.notna(r.get("burst_start")) else s
        b1 = pd.Timestamp(r["burst_end"]) if pd.notna(r.get("burst_end")) else e
        spans = {
            "preheat": (pre, b0 - pd.Timedelta(days=1)) if pre is not None else None,
            "burst": (b0, b1),
            "return": (b1 + pd.Timedelta(days=1), e),
            "post": (e + pd.Timedelta(days=1), e + pd.Timedelta(days=POST_DAYS)),
        }
        for ph, span in spans.items():
            if span is None or span[1] < span[0]:
                continue
            for d in pd.date_range(*span, freq="D"):
                rows.append((d, ph, str(r["campaign_id"])))
    if not rows:
        return pd.DataFrame(columns=list(PHASES), dtype=float)
    df = pd.DataFrame(rows, columns=["day", "phase", "campaign"])
    df = df.drop_duplicates("day", keep="first")
    out = pd.crosstab(df["day"], df["phase"]).reindex(columns=list(PHASES), fill_value=0)
    out = out.astype(float)
    out["campaign"] = df.set_index("day")["campaign"]
    return out


def _knots(first: pd.Timestamp, origin: pd.Timestamp) -> tuple[float, ...]:
    """Where the trend may bend, in years before ``origin`` (the history's last day): every
    :data:`KNOT_DAYS` back, none in the history's first year (within a year a bend and the
    yearly cycle cannot be told apart: a year on, the cycle is seen again)."""
    span = (origin - first).days
    return tuple(-j * KNOT_DAYS / 365.25 for j in range(1, (span - 365) // KNOT_DAYS + 1))


def _design(
    days: pd.DatetimeIndex,
    origin: pd.Timestamp,
    yearly: int,
    promo: pd.DataFrame,
    knots: tuple[float, ...] = (),
):
    t = (days - origin).days.to_numpy(float) / 365.25
    X = {"const": np.ones(len(days)), "trend": t}
    for j, k in enumerate(knots):
        X[f"bend{j}"] = np.maximum(t - k, 0.0)
    dow = days.dayofweek.to_numpy()
    for k in range(1, 7):
        X[f"dow{k}"] = (dow == k).astype(float)
    doy = days.dayofyear.to_numpy(float)
    for k in range(1, yearly + 1):
        X[f"cos{k}"] = np.cos(2 * np.pi * k * doy / 365.25)
        X[f"sin{k}"] = np.sin(2 * np.pi * k * doy / 365.25)
    for ph in PHASES:
        X[ph] = promo[ph].reindex(days, fill_value=0.0).to_numpy(float) if ph in promo else 0.0
    return pd.DataFrame(X, index=days)


# --- one series ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Judged:
    """One KPI of one series on one day: the actual value, the expected one, the interval of
    level ``1 - alpha`` (``ci_low`` .. ``ci_high``), ``p`` the two-sided tail probability of the
    actual value under the model, and whether it lies outside the interval (``anomaly``).
    ``size``: actual / expected - 1. ``unseen_promo``: the day is in a campaign phase the
    history never saw (the interval does not hold it)."""

    kpi: str
    dimension: str
    value: str
    day: _dt.date
    actual: float
    expected: float
    ci_low: float
    ci_high: float
    p: float
    alpha: float
    anomaly: bool
    unseen_promo: bool = False

    @property
    def size(self) -> float:
        return M.safe_div(self.actual - self.expected, self.expected)

    @property
    def direction(self) -> Direction:
        return "up" if self.actual > self.expected else "down"

    @property
    def z(self) -> float:
        """The tail probability as a signed normal deviate (comparable across KPIs)."""
        z = float(stats.norm.isf(max(self.p, 1e-300) / 2))
        return z if self.actual >= self.expected else -z


@dataclass(frozen=True)
class Fit:
    """A fitted model of one series: what :func:`predict` needs."""

    kpi: str
    kind: Kind
    params: np.ndarray
    cov: np.ndarray
    scale: float
    origin: pd.Timestamp
    yearly: int
    columns: list[str]
    seen_phases: frozenset[str]
    n: int
    knots: tuple[float, ...] = ()
    tau2: float = 0.0  # the campaigns' largest spread around a phase's effect (link scale)
    scale_promo: float | None = None  # the noise on campaign days (None: ``scale``)

    def scales(self, X: pd.DataFrame) -> np.ndarray:
        """The dispersion of each day of the design ``X``: campaign days' own."""
        on = X[list(self.seen_phases)].sum(axis=1).to_numpy() > 0 if self.seen_phases else False
        promo = self.scale if self.scale_promo is None else self.scale_promo
        return np.where(on, promo, self.scale) * np.ones(len(X))


def _series(frame: pd.DataFrame, kpi: str) -> tuple[np.ndarray, np.ndarray | None]:
    kind, num, den = KPI_MODEL[kpi]
    y = frame[num].to_numpy(float)
    if kpi == "refund_rate":
        # a share of GMV: its trials are the day's orders counted by weight, Kish's effective
        # number (sum of values)^2 / sum of squares (one large refunded basket among five small
        # orders is not four refunds in five)
        gmv = frame["gmv"].to_numpy(float)
        sq = frame["gmv_sq"].to_numpy(float)
        n = np.divide(gmv * gmv, sq, out=np.zeros_like(gmv), where=sq > 0)
        rate = np.divide(y, gmv, out=np.zeros_like(y), where=gmv > 0)
        return rate * n, n
    return y, None if den is None else frame[den].to_numpy(float)


def fit(
    kpi: str, history: pd.DataFrame, promo: pd.DataFrame, max_days: int | None = None
) -> Fit | None:
    """The model of KPI ``kpi`` on ``history`` (one series: rows by day, the days to fit, no
    missing days). None when the series has under :data:`MIN_HISTORY` usable days or no
    activity."""
    kind = KPI_MODEL[kpi][0]
    h = history.sort_values("day")
    if max_days is not None:
        h = h[h["day"] > h["day"].max() - pd.Timedelta(days=max_days)]
    y, n = _series(h, kpi)
    ok = np.isfinite(y)
    if n is not None:
        ok &= np.isfinite(n) & (n > 0)
    days = pd.DatetimeIndex(h["day"])
    if ok.sum() < MIN_HISTORY or np.nansum(y[ok]) <= 0:
        return None
    span = (days[ok].max() - days[ok].min()).days + 1
    yearly = 2 if span >= 730 else 1 if span >= 300 else 0
    origin = days[ok].max()
    knots = _knots(days[ok].min(), origin)
    X = _design(days, origin, yearly, promo, knots)
    seen = frozenset(ph for ph in PHASES if X.loc[ok, ph].sum() > 0)
    cols = [c for c in X.columns if c not in PHASES or c in seen]
    cols = [c for c in cols if c == "const" or X.loc[ok, c].std() > 0]
    if kind in ("rate", "mean") and _sparse(y[ok], n[ok], kind):
        # few trials (a small channel's refunds): weekday terms would separate perfectly
        cols = [c for c in cols if c in ("const", "trend")]
    Xd, groups = _by_campaign(X[cols], promo, ok)
    names = list(Xd.columns)
    X = Xd.to_numpy(float)
    age = (origin - days).days.to_numpy(float)
    w = 0.5 ** (age / HALF_LIFE)
    keep = ok.copy()
    res = phi = None
    for _ in range(2):
        res = _glm(kind, y[keep], None if n is None else n[keep], X[keep], w[keep])
        if res is None:
            return None
        # the noise from the days fitted, unweighted (the weights say how much a day counts for
        # the level, not how noisy it is)
        r = _pearson(kind, res, y, n, X)
        phi = float(np.sum(r[keep] ** 2) / max(keep.sum() - X.shape[1], 1))
        out = ok & (np.abs(r) / math.sqrt(max(phi, 1e-12)) > OUTLIER)
        if not out.any() or (keep == (ok & ~out)).all():
            break
        keep = ok & ~out
    # phi x (X'WX)^-1 bounds the weighted estimate's covariance from above (weights <= 1)
    cov = np.asarray(res.normalized_cov_params) * phi
    used = X[keep].any(axis=0)
    # campaign days' own noise (a burst day may be noisier than an ordinary one, relative to its
    # level), from their residuals once enough of them are left over their campaigns' effects
    on = np.array(["@" in c for c in names])
    promo_day = keep & (X[:, on].sum(axis=1) > 0) if on.any() else np.zeros_like(keep)
    dof_c = int(promo_day.sum()) - int((used & on).sum())
    phi_c = float(np.sum(r[promo_day] ** 2) / dof_c) if dof_c >= PROMO_DOF else phi
    params, cov, cols, tau2 = _pool(np.asarray(res.params), cov, names, groups, used)
    return Fit(
        kpi,
        kind,
        params,
        cov,
        phi,
        origin,
        yearly,
        cols,
        frozenset(c for c in cols if c in PHASES),
        int(keep.sum()),
        knots,
        tau2,
        phi_c,
    )


def _by_campaign(X: pd.DataFrame, promo: pd.DataFrame, ok: np.ndarray):
    """``X`` with each phase column split by campaign (``burst@C2025_1111``): each campaign of
    the history has its own effect in each phase (campaigns differ in size: one shared effect
    would call a bigger or smaller campaign than the last an anomaly). Returns the design and,
    for each phase, its campaigns' columns. A promo calendar without campaign ids: unchanged."""
    phases = [ph for ph in PHASES if ph in X.columns]
    if not phases or "campaign" not in promo.columns:
        return X, {}
    camp = promo["campaign"].reindex(X.index).to_numpy(object)
    out = {c: X[c].to_numpy(float) for c in X.columns if c not in PHASES}
    groups: dict[str, list[str]] = {}
    for ph in phases:
        on = X[ph].to_numpy(float) > 0
        groups[ph] = []
        for cid in sorted({str(c) for c in camp[on & ok]}):
            out[f"{ph}@{cid}"] = (on & (camp == cid)).astype(float)
            groups[ph].append(f"{ph}@{cid}")
    return pd.DataFrame(out, index=X.index), groups


def _moments(b: np.ndarray, v: np.ndarray) -> tuple[float, float, float]:
    """DerSimonian and Laird's moments of estimates ``b`` with variances ``v``: Q, its degrees
    of freedom, and the scaling C (tau2 = (Q - dof) / C)."""
    if len(b) < 2:
        return 0.0, 0.0, 0.0
    w = 1 / v
    q = float(np.sum(w * (b - np.sum(w * b) / np.sum(w)) ** 2))
    return q, len(b) - 1.0, float(np.sum(w) - np.sum(w * w) / np.sum(w))


def _tau2(q: float, dof: float, c: float) -> float:
    return max(0.0, (q - dof) / c) if dof > 0 and c > 0 else 0.0


def _pool(params, cov, names: list[str], groups: dict[str, list[str]], used: np.ndarray):
    """The history's campaigns' effects of each phase pooled into the effect a campaign is
    expected to have (a random-effects mean). The campaigns' spread around it, ``tau2`` on the
    link scale, by DerSimonian and Laird's moments: the phase's own, never below the spread
    over all phases together (two or three campaigns often put a phase's own at zero); each
    campaign weighted by 1 / (its variance + tau2); the pooled effect's variance plus ``tau2``,
    the campaign's own deviation. Returns params, covariance and columns with one column per
    phase, and the largest ``tau2``."""
    idx = {c: i for i, c in enumerate(names)}
    base = [c for c in names if "@" not in c]
    var = np.diag(cov)
    cols, own = {}, {}
    total = np.zeros(3)
    for ph, cs in groups.items():
        j = [idx[c] for c in cs if used[idx[c]] and np.isfinite(var[idx[c]]) and var[idx[c]] > 0]
        if not j:
            continue
        cols[ph] = j
        own[ph] = _moments(params[j], var[j])
        total += own[ph]
    shared = _tau2(*total)
    tau2 = {ph: max(shared, _tau2(*own[ph])) for ph in cols}
    M = np.zeros((len(base) + len(cols), len(names)))
    for i, c in enumerate(base):
        M[i, idx[c]] = 1.0
    for i, (ph, j) in enumerate(cols.items(), start=len(base)):
        w = 1 / (var[j] + tau2[ph])
        M[i, j] = w / w.sum()
    V = M @ cov @ M.T
    V[len(base) :, len(base) :] += np.diag([tau2[ph] for ph in cols])
    return M @ params, V, base + list(cols), max(tau2.values(), default=0.0)


PROMO_DOF = 30  # campaign days (beyond their effects) from which they have their own dispersion
SPARSE = 30  # events (and non-events) a ratio's history needs for weekday terms


def _sparse(y, n, kind: Kind = "rate") -> bool:
    if kind == "mean":
        return float(np.mean(n)) < 5
    return min(float(np.sum(y)), float(np.sum(n - y))) < SPARSE * 7 or float(np.mean(n)) < 5


def _glm(kind: Kind, y, n, X, w):
    """One fit; ``w``: the history days' weights (recent days count more)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            if kind in ("count", "money"):
                return sm.GLM(y, X, family=sm.families.Poisson(), var_weights=w).fit(scale="X2")
            if kind == "rate":
                prop = np.clip(y / n, 0, 1)
                return sm.GLM(prop, X, family=sm.families.Binomial(), var_weights=n * w).fit(
                    scale="X2"
                )
            ly = np.log(np.maximum(y / n, 1e-9))
            return sm.WLS(ly, X, weights=n * w).fit()
        except (ValueError, np.linalg.LinAlgError):
            return None


def _pearson(kind: Kind, res, y, n, X) -> np.ndarray:
    """Residuals over the unit variance of the family (not yet divided by the dispersion)."""
    eta = X @ np.asarray(res.params)
    with np.errstate(all="ignore"):
        if kind in ("count", "money"):
            mu = np.exp(eta)
            return (y - mu) / np.sqrt(mu)
        if kind == "rate":
            p = 1 / (1 + np.exp(-eta))
            return (y - n * p) / np.sqrt(n * p * (1 - p))
        return (np.log(np.maximum(y / n, 1e-9)) - eta) * np.sqrt(n)


def predict(f: Fit, days: pd.DataFrame, promo: pd.DataFrame, alpha: float, dim="", value=""):
    """:class:`Judged` for each row of ``days`` (the series' rows of the days judged)."""
    d = days.sort_values("day")
    idx = pd.DatetimeIndex(d["day"])
    X = _design(idx, f.origin, f.yearly, promo, f.knots)
    unseen = (X[[ph for ph in PHASES if ph not in f.seen_phases]].sum(axis=1) > 0).to_numpy()
    phi = f.scales(X)
    X = X[f.columns].to_numpy(float)
    eta = X @ f.params
    se2 = np.einsum("ij,jk,ik->i", X, f.cov, X)
    y, n = _series(d, f.kpi)
    out = []
    for i, day in enumerate(idx):
        j = _judge(
            f.kind, float(y[i]), None if n is None else float(n[i]), eta[i], se2[i], phi[i], alpha
        )
        if j is None:
            continue
        actual, expected, lo, hi, p = j
        out.append(
            Judged(
                f.kpi,
                dim,
                value,
                day.date(),
                actual,
                expected,
                lo,
                hi,
                p,
                alpha,
                bool((actual < lo or actual > hi) and p < alpha),
                bool(unseen[i]),
            )
        )
    return out


def _judge(kind: Kind, y: float, n: float | None, eta: float, se2: float, phi: float, alpha: float):
    """(actual, expected, low, high, p) of one day on the KPI's own scale; None when the day
    has no denominator (a rate without visitors, an AOV without orders)."""
    lo_q, hi_q = alpha / 2, 1 - alpha / 2
    phi = max(phi, 1.0) if kind != "mean" else phi
    if kind == "count":
        mu = math.exp(eta)
        var = phi * mu + mu * mu * (math.exp(se2) - 1)
        if var <= mu * 1.0001:
            dist = stats.poisson(mu)
        else:
            r = mu * mu / (var - mu)
            dist = stats.nbinom(r, r / (r + mu))
        p = min(1.0, 2 * min(dist.cdf(y), dist.sf(y - 1)))
        return y, mu, float(dist.ppf(lo_q)), float(dist.ppf(hi_q)), float(p)
    if kind == "money":
        # quasi-Poisson: money / phi is close to a Poisson count (a compound Poisson sum of
        # orders has variance phi x mean), so a day without an order has its probability
        c = max(phi, 1e-9)
        m = math.exp(eta) / c
        var = m + m * m * (math.exp(se2) - 1)
        dist = stats.poisson(m) if var <= m * 1.0001 else stats.nbinom(m * m / (var - m), m / var)
        yc = y / c
        p = min(1.0, 2 * min(dist.cdf(math.floor(yc)), dist.sf(math.ceil(yc) - 1)))
        lo, hi = float(dist.ppf(lo_q)) * c, float(dist.ppf(hi_q)) * c
        return y, m * c, lo, hi, float(p)
    if n is None or n <= 0:
        return None
    if kind == "rate":
        pr = 1 / (1 + math.exp(-eta))
        npq = n * pr * (1 - pr)
        var = (
            npq * phi + npq * npq * se2
        )  # binomial noise, and the logit estimate by the delta method
        nn = max(int(round(n)), 1)
        k = min(max(int(round(y * nn / n)), 0), nn)
        rho = (var / max(npq, 1e-12) - 1) / max(nn - 1, 1)
        if rho <= 1e-9 or nn == 1:
            dist = stats.binom(nn, pr)
        else:
            rho = min(rho, 0.99)
            c = 1 / rho - 1
            dist = stats.betabinom(nn, pr * c, (1 - pr) * c)
        p = min(1.0, 2 * min(dist.cdf(k), dist.sf(k - 1)))
        return y / n, pr, float(dist.ppf(lo_q)) / nn, float(dist.ppf(hi_q)) / nn, float(p)
    # mean (AOV): log-normal, the day's orders as its weight
    sd = math.sqrt(phi / n + se2)
    ly = math.log(max(y / n, 1e-9))
    z = (ly - eta) / sd
    p = float(2 * stats.norm.sf(abs(z)))
    q = stats.norm.isf(alpha / 2)
    return y / n, math.exp(eta), math.exp(eta - q * sd), math.exp(eta + q * sd), p


MC_DRAWS = 20_000
CLT_ORDERS = 60  # expected orders a day from which the GMV sum is taken as normal


def compound_gmv(
    orders: Fit,
    judged: list[Judged],
    values: np.ndarray,
    alpha: float,
    promo: pd.DataFrame,
    seed: int = 0,
) -> list[Judged]:
    """GMV days judged again as what they are: a sum over the day's orders (the orders model's
    negative binomial count) of order values drawn from the series' own history (``values``). Its tail is then the orders' (a few
    large baskets), not a Poisson's; a day without an order has the orders model's
    probability. The expected GMV is then the expected orders times the history's mean order
    value (one model of the count, so a small channel's GMV and orders agree). Monte Carlo with a fixed seed below :data:`CLT_ORDERS` orders a day, normal
    above."""
    values = np.asarray(values, float)
    values = values[np.isfinite(values) & (values > 0)]
    if values.size < 20:
        return judged
    rng = np.random.default_rng(seed)
    out = []
    for j in judged:
        day = pd.DatetimeIndex([pd.Timestamp(j.day)])
        xd = _design(day, orders.origin, orders.yearly, promo, orders.knots)
        phi_n = float(orders.scales(xd)[0])
        x0 = xd[orders.columns].to_numpy(float)[0]
        eta_n, se2 = float(x0 @ orders.params), float(x0 @ orders.cov @ x0)
        mu_n = math.exp(eta_n)
        var_n = max(phi_n, 1.0) * mu_n + mu_n * mu_n * (math.exp(se2) - 1)
        x = values
        expected = mu_n * x.mean()
        if mu_n >= CLT_ORDERS:
            sd = math.sqrt(mu_n * x.var() + var_n * x.mean() ** 2)
            z = (j.actual - expected) / sd
            p = float(2 * stats.norm.sf(abs(z)))
            q = stats.norm.isf(alpha / 2)
            lo, hi = max(expected - q * sd, 0.0), expected + q * sd
        else:
            if var_n <= mu_n * 1.0001:
                n = rng.poisson(mu_n, MC_DRAWS)
            else:
                r = mu_n * mu_n / (var_n - mu_n)
                n = rng.negative_binomial(r, r / (r + mu_n), MC_DRAWS)
            draws = x[rng.integers(0, x.size, int(n.sum()))]
            ends = np.cumsum(n)
            tot = np.concatenate([[0.0], np.cumsum(draws)])
            sums = tot[ends] - tot[ends - n]
            below = (np.sum(sums <= j.actual + 1e-9) + 1) / (MC_DRAWS + 1)
            above = (np.sum(sums >= j.actual - 1e-9) + 1) / (MC_DRAWS + 1)
            p = float(min(1.0, 2 * min(below, above)))
            lo, hi = (float(v) for v in np.quantile(sums, [alpha / 2, 1 - alpha / 2]))
        out.append(
            Judged(
                j.kpi,
                j.dimension,
                j.value,
                j.day,
                j.actual,
                expected,
                lo,
                hi,
                p,
                alpha,
                bool((j.actual < lo or j.actual > hi) and p < alpha),
                j.unseen_promo,
            )
        )
    return out


# --- a run --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NoData:
    """A day without a row in ``tables`` (``orders``, ``events``): the feed did not arrive (or,
    for orders alone with visits as usual, nothing could be bought)."""

    day: _dt.date
    tables: tuple[str, ...]
    visits: bool = False  # events came that day (orders alone missing: or nothing was bought)


@dataclass(frozen=True)
class Anomaly:
    """An alert from the model: a KPI of the shop (``dimension`` "") or of one breakdown value
    outside its interval, and the ``driver``: the breakdown value that moved most against its
    own expectation the same day (None for a breakdown's own alert or without breakdowns)."""

    judged: Judged
    driver: Judged | None = None


@dataclass(frozen=True)
class Threshold:
    """A rule of params met: ``kpi`` ``op`` ``limit`` on ``day`` (e.g. refund rate > 8%)."""

    kpi: str
    op: Literal[">", "<", ">=", "<="]
    limit: float
    day: _dt.date
    actual: float


@dataclass(frozen=True)
class TargetMiss:
    """The KPI's deviation from its target month to date (actual / prorated target - 1) below
    ``limit`` on ``day``: ``actual`` and ``target`` are the month's to that day."""

    kpi: str
    limit: float
    day: _dt.date
    actual: float
    target: float

    @property
    def deviation(self) -> float:
        return M.deviation_rate(self.actual, self.target)


@dataclass(frozen=True)
class Alerts:
    """Every day judged, the alerts, and what the models were: ``judged`` has one row per KPI,
    series and day (for the trend with its band); ``fitted`` the series with a model and its
    history (days fitted); ``no_model``: series without enough history; ``history``: the daily
    frame (:func:`daily`) the models were fitted on, every series."""

    days: list[_dt.date]
    alpha: float
    anomalies: list[Anomaly]
    no_data: list[NoData]
    thresholds: list[Threshold]
    targets: list[TargetMiss]
    judged: pd.DataFrame
    history: pd.DataFrame
    fitted: dict[tuple[str, str, str], int] = field(default_factory=dict)
    no_model: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def fired(self) -> bool:
        return bool(self.anomalies or self.no_data or self.thresholds or self.targets)


def _blocks(days: list[_dt.date], refit_days: int) -> list[list[_dt.date]]:
    """The days judged, in blocks of ``refit_days`` (a backfill refits each block on the
    history before it; a daily run is one block, one fit per series)."""
    days = sorted(days)
    return [days[i : i + refit_days] for i in range(0, len(days), refit_days)]


def _one_thread():
    """BLAS on one thread for the small fits: on a busy machine its worker threads wait on each
    other far longer than a 700 x 20 least squares takes (30 ms instead of 0.3 ms a fit)."""
    try:
        from threadpoolctl import threadpool_limits  # a dependency of scipy's stack, if present
    except ImportError:  # pragma: no cover
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(1)


def detect(
    src: DataSource,
    days: list[_dt.date],
    kpis: list[str] = ALERT_KPIS,
    dims: tuple[str, ...] = DIMENSIONS,
    alpha: float = 0.002,
    history_days: int = 730,
    refit_days: int = 28,
    thresholds: list[tuple[str, str, float]] = (),
    targets: list[tuple[str, float]] = (),
) -> Alerts:
    """Judge ``days`` (each against a model fitted on the ``history_days`` before its block of
    ``refit_days``): the model's anomalies with their likely driver, the days without data, the
    thresholds met (``(kpi, op, limit)``) and the targets missed month to date (``(kpi, limit)``:
    deviation rate below ``limit``, e.g. -0.10)."""
    with _one_thread():
        return _detect(src, days, kpis, dims, alpha, history_days, refit_days, thresholds, targets)


def _detect(src, days, kpis, dims, alpha, history_days, refit_days, thresholds, targets) -> Alerts:
    days = sorted(set(days))
    traffic = src.has("events")
    kpis = [k for k in kpis if traffic or k not in ("uv", "conversion_rate")]
    first = min(days) - _dt.timedelta(days=history_days)
    frame = daily(src, first, max(days), dims)
    promo = promo_calendar(src)
    values = order_values(src, first, max(days), dims) if "gmv" in kpis else None
    gone = missing_days(frame, traffic)
    missing = {d for d, t in gone.items() if "orders" in t}  # no order KPI for these days
    counts = frame.groupby(["dimension", "value"]).size()
    series = list(counts.index)
    n_values = frame.groupby("dimension")["value"].nunique().to_dict()
    judged: list[Judged] = []
    fitted: dict[tuple[str, str, str], int] = {}
    no_model: list[tuple[str, str, str]] = []
    for block in _blocks(days, refit_days):
        b0 = pd.Timestamp(block[0])
        for dim, val in series:
            s = frame[(frame["dimension"] == dim) & (frame["value"] == val)]
            a = alpha / (n_values.get(dim, 1) if dim else 1)
            fits: dict[str, Fit | None] = {}
            for k in kpis:
                if k in ("uv", "conversion_rate") and s["uv"].isna().all():
                    continue
                # days a table this KPI is counted from has no row: neither fitted nor judged
                skip = {d for d, t in gone.items() if set(t) & set(NEEDS[k])}
                hist = s[(s["day"] < b0) & ~s["day"].dt.date.isin(skip)]
                want = pd.DatetimeIndex([pd.Timestamp(d) for d in block if d not in skip])
                f = fits[k] = fit(k, hist, promo, history_days)
                if f is None:
                    no_model.append((k, dim, val))
                    continue
                fitted[(k, dim, val)] = f.n
                got = predict(f, s[s["day"].isin(want)], promo, a, dim, val)
                if k == "gmv":
                    fo = fits.get("orders") or fit("orders", hist, promo, history_days)
                    fits["orders"] = fo
                    v = values[values["day"] < b0]
                    v = v[v["day"] > b0 - pd.Timedelta(days=history_days)]
                    if dim:
                        v = v[v[dim] == val]
                    if fo is not None:
                        got = compound_gmv(fo, got, v["gmv"].to_numpy(), a, promo)
                judged += got
    jdf = pd.DataFrame([j.__dict__ for j in judged]) if judged else pd.DataFrame()
    anomalies = _with_drivers(judged, kpis)
    tot = frame[frame["dimension"] == ""].set_index("day")
    return Alerts(
        days=days,
        alpha=alpha,
        anomalies=anomalies,
        no_data=[
            NoData(d, gone[d], traffic and "events" not in gone[d]) for d in days if d in gone
        ],
        thresholds=_thresholds(tot, days, missing, thresholds),
        targets=_targets(src, tot, days, missing, targets),
        judged=jdf,
        history=frame,
        fitted=fitted,
        no_model=sorted(set(no_model)),
    )


def _with_drivers(judged: list[Judged], kpis: list[str]) -> list[Anomaly]:
    """The shop's anomalies, each with the breakdown value that moved most the same way
    (additive KPIs: the largest difference from expected; rates and AOV: the largest signed
    deviate), then the breakdowns' own anomalies on KPI-days where the shop's total did not
    fire (a channel that dried up while the others made up for it)."""
    by_day: dict[tuple[str, _dt.date], list[Judged]] = {}
    for j in judged:
        if j.dimension:
            by_day.setdefault((j.kpi, j.day), []).append(j)
    out = []
    fired_total = set()
    for j in judged:
        if j.dimension or not j.anomaly:
            continue
        fired_total.add((j.kpi, j.day))
        sign = 1 if j.actual > j.expected else -1
        parts = by_day.get((j.kpi, j.day), [])

        moved = [sign * ((x.actual - x.expected) if j.kpi in ADDITIVE else x.z) for x in parts]
        best = int(np.argmax(moved)) if moved else -1
        out.append(Anomaly(j, parts[best] if best >= 0 and moved[best] > 0 else None))
    for j in judged:
        if j.dimension and j.anomaly and (j.kpi, j.day) not in fired_total:
            out.append(Anomaly(j))
    order = {k: i for i, k in enumerate(kpis)}
    return sorted(
        out,
        key=lambda a: (
            a.judged.day,
            order.get(a.judged.kpi, 99),
            a.judged.dimension,
            a.judged.value,
        ),
    )


_OPS = {">": np.greater, "<": np.less, ">=": np.greater_equal, "<=": np.less_equal}


def _kpi_values(tot: pd.DataFrame) -> pd.DataFrame:
    return M.add_ratios(tot[["gmv", "orders", "buyers", "refunded_gmv", "uv"]])


def _thresholds(tot, days, missing, rules) -> list[Threshold]:
    if not rules:
        return []
    vals = _kpi_values(tot)
    out = []
    for d in days:
        if d in missing:
            continue
        row = vals.loc[pd.Timestamp(d)]
        for kpi, op, limit in rules:
            v = float(row.get(kpi, np.nan))
            if np.isfinite(v) and _OPS[op](v, limit):
                out.append(Threshold(kpi, op, float(limit), d, v))
    return out


def _targets(src, tot, days, missing, rules) -> list[TargetMiss]:
    """Month-to-date deviation from the ``targets`` table's monthly target (shop level rows),
    the target prorated by the days of the month elapsed."""
    if not rules or not src.has("targets"):
        return []
    tg = src.execute(src.table("targets"))
    if "dimension" in tg.columns:
        tg = tg[tg["dimension"].isna()]
    out = []
    for d in days:
        if d in missing:
            continue
        month = f"{d:%Y-%m}"
        m0 = pd.Timestamp(d.replace(day=1))
        dim = pd.Period(month).days_in_month
        for kpi, limit in rules:
            row = tg[(tg["period"].astype(str) == month) & (tg["metric"] == kpi)]
            if row.empty or kpi not in ("gmv", "orders", "buyers"):
                continue
            target = float(row["target_value"].iloc[0]) * d.day / dim
            have = tot.loc[m0 : pd.Timestamp(d)]
            if m0 < tot.index.min():
                continue  # the month to date is not all in the frame
            actual = float(have[kpi].sum())
            if M.deviation_rate(actual, target) < limit:
                out.append(TargetMiss(kpi, float(limit), d, actual, target))
    return out


def series_values(a: Alerts, kpi: str, dimension: str = "", value: str = "") -> pd.DataFrame:
    """One series' daily values of ``kpi`` (``day``, ``actual``) over the history and the days
    judged, and the model's ``expected``, ``ci_low``, ``ci_high`` and ``anomaly`` on the days
    judged (NaN before): what the alerts chart draws."""
    f = a.history[(a.history["dimension"] == dimension) & (a.history["value"] == value)]
    vals = M.add_ratios(f.set_index("day")[["gmv", "orders", "buyers", "refunded_gmv", "uv"]])
    actual = np.array(vals[kpi], dtype=float)  # a copy: days without rows are blanked below
    rows = f["rows_events" if kpi == "uv" else "rows_orders"].to_numpy(float)
    actual[rows == 0] = np.nan  # no rows that day: no value (the day has its own alert)
    out = pd.DataFrame({"day": vals.index, "actual": actual})
    j = a.judged
    if not j.empty:
        j = j[(j["kpi"] == kpi) & (j["dimension"] == dimension) & (j["value"] == value)]
        j = j.assign(day=pd.to_datetime(j["day"]))[
            ["day", "expected", "ci_low", "ci_high", "anomaly"]
        ]
        out = out.merge(j, on="day", how="left")
    return out


# --- records (results.json, the report, the message) ----------------------------------------------

_OP_KEY = {">": "gt", ">=": "ge", "<": "lt", "<=": "le"}


def records(
    a: Alerts,
    severity: dict[str, str],
    threshold_severity: dict[tuple[str, str, float], str] | None = None,
    target_severity: dict[tuple[str, float], str] | None = None,
) -> list[dict]:
    """Every alert as a plain record, day by day: ``kind`` (anomaly, no_data, threshold, target),
    ``key`` (the same ongoing alert has the same key on later days: the quiet period's), ``day``
    (ISO), the KPI and its series, the figures, ``severity``. ``severity``: of ``anomaly`` and
    ``no_data``; the rules' own from the two mappings."""
    out: list[dict] = []
    for n in a.no_data:
        out.append(
            {
                "kind": "no_data",
                "key": "no_data:" + "+".join(n.tables),
                "day": n.day.isoformat(),
                "tables": list(n.tables),
                "visits": n.visits,
                "severity": severity.get("no_data", "critical"),
            }
        )
    for an in a.anomalies:
        j, d = an.judged, an.driver
        out.append(
            {
                "kind": "anomaly",
                # the series, or the shop's total by its driver: a total that fell because a
                # channel dried up is the same ongoing alert as that channel's own
                "key": f"anomaly:{j.kpi}:{j.dimension or (d.dimension if d else '')}:"
                f"{j.value or (d.value if d else '')}:{j.direction}",
                "day": j.day.isoformat(),
                "kpi": j.kpi,
                "dimension": j.dimension,
                "value": j.value,
                "actual": j.actual,
                "expected": j.expected,
                "ci_low": j.ci_low,
                "ci_high": j.ci_high,
                "p": j.p,
                "size": j.size,
                "direction": j.direction,
                "unseen_promo": j.unseen_promo,
                "driver": None
                if d is None
                else {
                    "dimension": d.dimension,
                    "value": d.value,
                    "actual": d.actual,
                    "expected": d.expected,
                },
                "severity": severity.get("anomaly", "warning"),
            }
        )
    for t in a.thresholds:
        out.append(
            {
                "kind": "threshold",
                "key": f"threshold:{t.kpi}:{_OP_KEY[t.op]}:{t.limit}",
                "day": t.day.isoformat(),
                "kpi": t.kpi,
                "op": _OP_KEY[t.op],
                "limit": t.limit,
                "actual": t.actual,
                "severity": (threshold_severity or {}).get((t.kpi, t.op, t.limit), "warning"),
            }
        )
    for t in a.targets:
        out.append(
            {
                "kind": "target",
                "key": f"target:{t.kpi}:{t.limit}",
                "day": t.day.isoformat(),
                "kpi": t.kpi,
                "limit": t.limit,
                "actual": t.actual,
                "target": t.target,
                "deviation": t.deviation,
                "severity": (target_severity or {}).get((t.kpi, t.limit), "warning"),
            }
        )
    kinds = ["no_data", "anomaly", "threshold", "target"]
    return sorted(out, key=lambda r: (r["day"], kinds.index(r["kind"])))


def quiet(recs: list[dict], last_sent: dict[str, str], quiet_days: int) -> dict[str, str]:
    """Mark each record ``suppressed`` when the same alert (its ``key``) was sent at most
    ``quiet_days`` days before its day, with ``sent_on`` the day it was sent (``last_sent``: key ->
    ISO day, from the last run, and updated here day by day), else ``to_send``. Returns the state
    to keep for the next run. Pure: the report shows these statuses, the delivery sends the
    ``to_send`` ones."""
    state = dict(last_sent)
    for r in sorted(recs, key=lambda r: r["day"]):
        day = _dt.date.fromisoformat(r["day"])
        prev = state.get(r["key"])
        gap = None if prev is None else (day - _dt.date.fromisoformat(prev)).days
        if gap is not None and 0 <= gap <= quiet_days and quiet_days > 0:
            r["status"] = "suppressed"
            r["sent_on"] = prev
        else:
            r["status"] = "to_send"
            state[r["key"]] = r["day"]
    return state
