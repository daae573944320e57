"""KPI monitoring (数据监控看板): KPIs over a period and by grain, against targets and history.

Aggregations run in the engine (Ibis); what comes back is one small row per bucket. The GMV change
between two periods is split into additive contributions of traffic (UV), conversion
(buyers / UV), purchase frequency (orders / buyers) and AOV (GMV / orders) with the LMDI method
(logarithmic mean Divisia index), whose contributions add up exactly to the change.

A shop without an ``events`` table (most order exports: Olist, UCI Online Retail, ERP exports)
still gets every order KPI: UV and conversion rate are then left out (NaN, with the reason from
:func:`unavailable`), never computed from faked events, and the decomposition uses
GMV = buyers x orders per buyer x AOV, which still adds up exactly.

This module computes; it holds no words. :func:`monitor` gathers everything one report shows in a
:class:`KpiMonitor`, and :func:`signals` applies the report's action rules (thresholds here, the
words in ``analysis_lib.present.narrative.kpi_monitor``).
"""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass, field
from typing import ClassVar, Literal

import ibis
import numpy as np
import pandas as pd

from analysis_lib.core import metrics as M
from analysis_lib.core.data import DataSource, as_date_bounds, month_key

Grain = Literal["day", "week", "month"]
BaseHow = Literal["pop", "yoy"]
Reason = Literal["no_events"]

GRAIN_UNIT = {"day": "D", "week": "W", "month": "M"}
KPI_KEYS = ["gmv", "orders", "buyers", "aov", "uv", "conversion_rate", "refund_rate"]
# KPIs counted from events: absent (not zero) in a shop without an events table
TRAFFIC_KEYS = ["uv", "conversion_rate"]


def has_traffic(src: DataSource) -> bool:
    """Whether the shop has an ``events`` table to count UV (and so conversion) from."""
    return src.has("events")


def unavailable(src: DataSource) -> dict[str, Reason]:
    """KPIs this shop's tables cannot give, each with the reason's key: UV and conversion rate
    without an ``events`` table (``no_events``). A report shows them as absent with this reason
    rather than a number computed from events that do not exist (faked purchase events read as
    100%)."""
    if has_traffic(src):
        return {}
    return dict.fromkeys(TRAFFIC_KEYS, "no_events")


def _in_period(t: ibis.Table, col: str, start, end) -> ibis.Table:
    return _in_ranges(t, col, [(start, end)])


def _in_ranges(t: ibis.Table, col: str, ranges) -> ibis.Table:
    """Rows whose ``col`` falls in any of the inclusive date ranges ``[(start, end), ...]``."""
    cond = None
    for start, end in ranges:
        lo, hi = as_date_bounds(start, end)
        c = (t[col] >= lo) & (t[col] < hi)
        cond = c if cond is None else cond | c
    return t.filter(cond)


def kpi_totals(src: DataSource, start: _dt.date, end: _dt.date) -> dict[str, float]:
    """Every headline KPI for ``[start, end]`` (inclusive): counts from the engine, ratios from
    :mod:`analysis_lib.core.metrics`. New buyers are buyers whose first valid order ever falls in the
    period; returning buyers are the rest."""
    return kpi_totals_over(src, [(start, end)])


def kpi_totals_over(src: DataSource, ranges) -> dict[str, float]:
    """:func:`kpi_totals` over the days of several inclusive date ranges taken together (e.g. the
    months of a period that have targets): buyers and UV are distinct over all of them; new
    buyers are those whose first valid order ever falls in one of them. Without an events table
    UV and conversion rate are NaN (:func:`unavailable`)."""
    orders = M.valid_orders(src.table("orders"))
    cur = _in_ranges(orders, "order_ts", ranges)
    first = orders.group_by("user_id").aggregate(first_ts=orders.order_ts.min())
    first = _in_ranges(first, "first_ts", ranges)
    new = cur.select("user_id").distinct().join(first, "user_id")
    # one statement: the order counts, new buyers and UV as one row (three one-row aggregates)
    q = cur.aggregate(**M.order_aggregates(cur)).cross_join(new.aggregate(new_buyers=new.count()))
    if has_traffic(src):
        ev = _in_ranges(src.table("events"), "event_ts", ranges)
        q = q.cross_join(ev.aggregate(uv=ev.user_id.nunique()))
    agg = src.execute(q).iloc[0].to_dict()
    row = {k: float(agg[k]) for k in M.order_aggregates(cur)}
    row["uv"] = float(agg.get("uv", float("nan")))
    row["new_buyers"] = float(agg["new_buyers"])
    row["returning_buyers"] = row["buyers"] - row["new_buyers"]
    out = M.add_ratios(pd.DataFrame([row])).iloc[0].to_dict()
    return {k: float(v) for k, v in out.items()}


def kpi_series(
    src: DataSource,
    start: _dt.date,
    end: _dt.date,
    grain: Grain,
    data_end: _dt.date | None = None,
) -> pd.DataFrame:
    """One row per ``grain`` bucket (day, week starting Monday, or month) in the period, with
    counts and ratios; buckets without activity are present with zeros. Without an events
    table there are no ``uv`` and ``conversion_rate`` columns.

    ``days`` counts the bucket's days that are in the period and in the data (up to
    ``data_end``, the last day the data holds, when given) and ``complete`` says whether that is
    the whole bucket: a week of which the period holds three days is not a crash, and a chart
    must mark it or leave it out (REPORTS.md)."""
    unit = GRAIN_UNIT[grain]
    orders = M.valid_orders(src.table("orders"))
    cur = _in_period(orders, "order_ts", start, end)
    cur = cur.mutate(bucket=cur.order_ts.truncate(unit))
    first = orders.group_by("user_id").aggregate(first_ts=orders.order_ts.min())
    first = first.mutate(first_bucket=first.first_ts.truncate(unit))
    # one statement: each order row with its buyer's first bucket (a left join keeps every row,
    # one first order per buyer), new buyers counted in the same aggregate as the orders, and UV
    # by bucket joined on the bucket (a bucket with visits and no order kept)
    j = cur.left_join(first, "user_id")
    q = j.group_by("bucket").aggregate(
        **M.order_aggregates(j), new_buyers=j.user_id.nunique(where=j.first_bucket == j.bucket)
    )
    if has_traffic(src):
        ev = _in_period(src.table("events"), "event_ts", start, end)
        ev = ev.mutate(bucket=ev.event_ts.truncate(unit))
        q = q.outer_join(ev.group_by("bucket").aggregate(uv=ev.user_id.nunique()), "bucket")
        q = q.mutate(bucket=ibis.coalesce(q.bucket, q.bucket_right)).drop("bucket_right")
    got = src.execute(q)
    freq = {"day": "D", "week": "W-MON", "month": "MS"}[grain]
    first_bucket = pd.Timestamp(start).to_period({"day": "D", "week": "W-SUN", "month": "M"}[grain])
    idx = pd.date_range(first_bucket.start_time, pd.Timestamp(end), freq=freq, name="bucket")
    got = got.assign(bucket=pd.to_datetime(got["bucket"]).astype("datetime64[ns]"))
    cols = [*M.order_aggregates(cur), *(["uv"] if "uv" in got else []), "new_buyers"]
    df = pd.DataFrame(index=idx).join(got.set_index("bucket")[cols], how="left")
    df = df.fillna(0.0).astype(float)
    df["returning_buyers"] = df["buyers"] - df["new_buyers"]
    df = M.add_ratios(df).reset_index()
    last = min(end, data_end) if data_end is not None else end
    df["days"] = [_days_in(b, grain, start, last) for b in df["bucket"]]
    df["complete"] = [
        d == (b_end - b).days + 1
        for b, d in zip(df["bucket"], df["days"], strict=True)
        for b_end in [bucket_end(b, grain)]
    ]
    return df


def bucket_end(bucket: pd.Timestamp, grain: Grain) -> pd.Timestamp:
    """The last day of the bucket that starts on ``bucket``."""
    if grain == "day":
        return bucket
    if grain == "week":
        return bucket + pd.Timedelta(days=6)
    return bucket + pd.offsets.MonthEnd(0)


def _days_in(bucket: pd.Timestamp, grain: Grain, start: _dt.date, last: _dt.date) -> int:
    """Days of the bucket within ``[start, last]``."""
    lo = max(bucket.date(), start)
    hi = min(bucket_end(bucket, grain).date(), last)
    return max((hi - lo).days + 1, 0)


def shifted_period(start: _dt.date, end: _dt.date, how: str) -> tuple[_dt.date, _dt.date]:
    """The comparison period: ``pop`` (环比) the same number of days just before, ``yoy`` (同比)
    the same dates one year earlier (29 February maps to 28 February)."""
    if how == "pop":
        days = (end - start).days + 1
        return start - _dt.timedelta(days=days), start - _dt.timedelta(days=1)
    if how == "yoy":

        def back(d: _dt.date) -> _dt.date:
            try:
                return d.replace(year=d.year - 1)
            except ValueError:
                return d.replace(year=d.year - 1, day=28)

        return back(start), back(end)
    raise ValueError(f"how must be 'pop' or 'yoy', got {how!r}")


# the table each KPI is counted from: a comparison base must lie within that table's data
_NEEDS = {
    "uv": ("events",),
    "conversion_rate": ("orders", "events"),
}


def data_starts(src: DataSource) -> dict[str, _dt.date | None]:
    """The first day with a row in ``orders`` and in ``events`` (None: no rows); a table the
    shop does not have is left out."""
    q = None
    for table, col in (("orders", "order_ts"), ("events", "event_ts")):
        if src.has(table):
            t = src.table(table)
            one = t.aggregate(**{table: t[col].min()})
            q = one if q is None else q.cross_join(one)
    if q is None:
        return {}
    row = src.execute(q).iloc[0].to_dict()  # one statement for both tables
    return {
        table: None if first is None or pd.isna(first) else pd.Timestamp(first).date()
        for table, first in row.items()
    }


def base_gaps(
    src: DataSource, start: _dt.date, end: _dt.date, starts: dict | None = None
) -> dict[str, _dt.date | None]:
    """Tables (``orders``, ``events``) that do not cover ``[start, end]`` as a comparison base:
    the day their data starts, after ``start``, or None when they have no row in the base. A
    base that starts before a table's first row would compare a whole period with part of one.
    ``starts``: :func:`data_starts` when already read."""
    gaps: dict[str, _dt.date | None] = {}
    for table, first in (data_starts(src) if starts is None else starts).items():
        if first is None or first > end:
            gaps[table] = None
        elif first > start:
            gaps[table] = first
    return gaps


@dataclass(frozen=True)
class Campaign:
    """A campaign of the ``campaigns`` table: its name (as the data spells it) and its first and
    last day."""

    name: str
    start: _dt.date
    end: _dt.date


def campaigns(src: DataSource) -> tuple[Campaign, ...]:
    """Every campaign of the ``campaigns`` table, first first (none without the table)."""
    if not src.has("campaigns"):
        return ()
    c = src.execute(src.table("campaigns").select("name", "start_date", "end_date"))
    out = [
        Campaign(str(r.name), pd.Timestamp(r.start_date).date(), pd.Timestamp(r.end_date).date())
        for r in c.itertuples()
    ]
    return tuple(sorted(out, key=lambda x: (x.start, x.name)))


def campaigns_between(
    src: DataSource, start: _dt.date, end: _dt.date, among: tuple[Campaign, ...] | None = None
) -> tuple[Campaign, ...]:
    """The campaigns (``campaigns`` table) with at least one day in ``[start, end]``, first
    first; none when the shop has no campaigns table. A period that holds Double 11 and one that
    does not are not like for like: a fall against a campaign month is the campaign's base, not
    a problem to fix. ``among``: :func:`campaigns` when already read."""
    among = campaigns(src) if among is None else among
    return tuple(c for c in among if c.start <= end and c.end >= start)


@dataclass(frozen=True)
class ComparisonBase:
    """A comparison period: ``pop`` (环比) or ``yoy`` (同比), its dates, ``gaps``: the tables
    that do not cover it (:func:`base_gaps`), each with the day its data starts or None when it
    has no row in the base, and the ``campaigns`` it holds (:func:`campaigns_between`)."""

    how: BaseHow
    start: _dt.date
    end: _dt.date
    gaps: dict[str, _dt.date | None]
    campaigns: tuple[Campaign, ...] = ()

    def covers(self, key: str) -> bool:
        """Whether KPI ``key`` can be compared against this base (its tables cover it)."""
        return not any(t in self.gaps for t in _NEEDS.get(key, ("orders",)))


def comparison_base(
    src: DataSource,
    start: _dt.date,
    end: _dt.date,
    how: BaseHow,
    starts: dict | None = None,
    among: tuple[Campaign, ...] | None = None,
) -> tuple[dict[str, float], ComparisonBase]:
    """KPI totals of the comparison period (``pop`` or ``yoy``, :func:`shifted_period`) and a
    :class:`ComparisonBase` describing it (its gaps include a table with no row in the base, a
    feed that did not land). A KPI whose table does not cover the whole base is NaN: its change
    is n/a, not a number against part of a period. ``starts`` (:func:`data_starts`) and ``among``
    (:func:`campaigns`): when already read."""
    b_start, b_end = shifted_period(start, end, how)
    base = kpi_totals(src, b_start, b_end)
    gaps = base_gaps(src, b_start, b_end, starts)
    for table, n in (("orders", base["orders"]), ("events", base["uv"])):
        if n == 0 and src.has(table):
            gaps[table] = None
    info = ComparisonBase(how, b_start, b_end, gaps, campaigns_between(src, b_start, b_end, among))
    for k in base:
        if not info.covers(k):
            base[k] = float("nan")
    return base, info


def compare(current: dict[str, float], previous: dict[str, float], keys=KPI_KEYS) -> pd.DataFrame:
    """Current vs previous per KPI: both values, absolute and relative change."""
    rows = []
    for k in keys:
        c, p = current.get(k, np.nan), previous.get(k, np.nan)
        rows.append(
            {
                "metric": k,
                "current": c,
                "previous": p,
                "change": c - p,
                "change_pct": M.safe_div(c - p, p),
            }
        )
    return pd.DataFrame(rows)


def _logmean(a: float, b: float) -> float:
    if a == b:
        return a
    return (a - b) / (math.log(a) - math.log(b))


DRIVERS = ["uv", "conversion_rate", "orders_per_buyer", "aov"]
# without events: UV x conversion rate is buyers, and GMV = buyers x orders per buyer x AOV
DRIVERS_NO_TRAFFIC = ["buyers", "orders_per_buyer", "aov"]


def gmv_decomposition(
    current: dict[str, float], previous: dict[str, float], traffic: bool = True
) -> pd.DataFrame:
    """Split GMV(current) - GMV(previous) into additive contributions of the drivers of
    GMV = UV x conversion rate x orders per buyer x AOV (LMDI-I); with ``traffic`` False (a shop
    without events, :func:`has_traffic`) of GMV = buyers x orders per buyer x AOV, the same
    identity with UV x conversion folded into buyers. The contributions sum exactly to the change.
    Needs positive values of every driver in both periods; otherwise NaN rows."""
    drivers = DRIVERS if traffic else DRIVERS_NO_TRAFFIC
    g1, g0 = current["gmv"], previous["gmv"]
    rows = []
    ok = (
        all(current.get(k, 0) > 0 and previous.get(k, 0) > 0 for k in drivers) and g1 > 0 and g0 > 0
    )
    w = _logmean(g1, g0) if ok else np.nan
    for k in drivers:
        contrib = w * math.log(current[k] / previous[k]) if ok else np.nan
        rows.append(
            {
                "driver": k,
                "previous": previous.get(k),
                "current": current.get(k),
                "contribution": contrib,
            }
        )
    df = pd.DataFrame(rows)
    df["share_of_change"] = df["contribution"] / (g1 - g0) if g1 != g0 else np.nan
    return df


def load_targets(src: DataSource) -> pd.DataFrame:
    """Total (no dimension) targets from the ``targets`` table: period, metric, target_value;
    empty when the source has no targets table."""
    cols = ["period", "metric", "target_value"]
    if not src.has("targets"):
        return pd.DataFrame(columns=cols)
    t = src.table("targets")
    if "dimension" in t.columns:
        t = t.filter(t.dimension.isnull())
    tg = src.execute(t.select(*cols))
    tg["period"] = month_key(tg["period"], f"{src.where('targets')}: column 'targets.period'")
    tg["target_value"] = tg["target_value"].astype(float)
    return tg


def targets_for_period(targets: pd.DataFrame, start: _dt.date, end: _dt.date) -> pd.DataFrame:
    """Targets for ``[start, end]`` from monthly (``YYYY-MM``) targets: additive metrics (GMV,
    orders) pro-rated by the days of each month that fall in the period; other metrics as the
    day-weighted mean of the monthly targets. ``days_covered`` counts the period's days that have
    a target and ``covered`` lists them as inclusive date ranges (:func:`covered_ranges`);
    metrics with no target in the period are left out."""
    days = pd.date_range(start, end, freq="D")
    months = pd.Series(days.to_period("M").astype(str)).value_counts()
    rows = []
    for metric, grp in targets.groupby("metric"):
        vals = grp.groupby("period")["target_value"].sum()
        covered = months[months.index.isin(vals.index)]
        if covered.empty:
            continue
        m = M.METRICS.get(metric)
        if m is not None and m.additive:
            target = sum(
                vals[p] * covered[p] / pd.Period(p, "M").days_in_month for p in covered.index
            )
        else:
            target = sum(vals[p] * covered[p] for p in covered.index) / covered.sum()
        rows.append(
            {
                "metric": metric,
                "target": float(target),
                "days_covered": int(covered.sum()),
                "covered": covered_ranges(list(covered.index), start, end),
            }
        )
    return pd.DataFrame(rows, columns=["metric", "target", "days_covered", "covered"])


def covered_ranges(months: list[str], start: _dt.date, end: _dt.date) -> list:
    """The days of ``[start, end]`` that fall in ``months`` (``YYYY-MM``), as inclusive date
    ranges, consecutive months joined: ``[(2025-01-01, 2025-12-31)]``."""
    ranges: list[list[_dt.date]] = []
    for p in sorted(months):
        per = pd.Period(p, "M")
        lo, hi = max(per.start_time.date(), start), min(per.end_time.date(), end)
        if lo > hi:
            continue
        if ranges and ranges[-1][1] + _dt.timedelta(days=1) == lo:
            ranges[-1][1] = hi
        else:
            ranges.append([lo, hi])
    return [tuple(r) for r in ranges]


def targets_by_bucket(
    targets: pd.DataFrame,
    series: pd.DataFrame,
    metric: str,
    grain: str,
    start: _dt.date,
    end: _dt.date,
) -> pd.Series:
    """The target of ``metric`` for each bucket of ``series`` (clipped to the period); NaN where
    no target covers the bucket."""
    step = {"day": pd.Timedelta(days=1), "week": pd.Timedelta(days=7)}
    out = []
    for b in series["bucket"]:
        b_end = (
            b + step[grain] - pd.Timedelta(days=1) if grain in step else b + pd.offsets.MonthEnd(0)
        )
        lo, hi = max(b.date(), start), min(b_end.date(), end)
        tp = targets_for_period(targets, lo, hi)
        row = tp[(tp["metric"] == metric) & (tp["days_covered"] == (hi - lo).days + 1)]
        out.append(row["target"].iloc[0] if len(row) else float("nan"))
    return pd.Series(out, index=series.index, dtype="float64")


def target_vs_actual(
    src: DataSource,
    targets: pd.DataFrame,
    start: _dt.date,
    end: _dt.date,
    totals: dict[str, float] | None = None,
) -> pd.DataFrame:
    """Actual against target per metric, like for like: both over the days of ``[start, end]``
    that have a target (``targets`` as :func:`load_targets` gives them), with the deviation rate
    (偏差率 = actual / target - 1). ``covered`` lists those days as date ranges; ``complete``
    says whether they are the whole period (then ``totals``, the period's, is the actual when
    given). Comparing a ten-year period's GMV with one year of targets would read as far above
    target; here it compares that year with its targets and says so."""
    cols = ["metric", "actual", "target", "deviation_rate", "days_covered", "period_days"]
    cols += ["complete", "covered"]
    tp = targets_for_period(targets, start, end)
    if tp.empty:
        return pd.DataFrame(columns=cols)
    period_days = (end - start).days + 1
    actuals = []
    for _, r in tp.iterrows():
        if r["days_covered"] == period_days and totals is not None:
            actuals.append(totals.get(r["metric"], np.nan))
        else:
            actuals.append(kpi_totals_over(src, r["covered"]).get(r["metric"], np.nan))
    out = tp.assign(actual=actuals)
    out["deviation_rate"] = M.deviation_rate(out["actual"], out["target"])
    out["period_days"] = period_days
    out["complete"] = out["days_covered"] == period_days
    return out[cols]


# --- one report's results ----------------------------------------------------------------------

Dimension = Literal["channel", "device"]
DIMENSIONS: tuple[Dimension, ...] = ("channel", "device")


@dataclass(frozen=True)
class TargetComparison:
    """Actual against target of one metric over the days of the period that have a target
    (:func:`target_vs_actual`): ``covered`` lists those days as inclusive date ranges."""

    metric: str
    actual: float
    target: float
    deviation_rate: float
    days_covered: int
    period_days: int
    covered: list[tuple[_dt.date, _dt.date]]

    @property
    def complete(self) -> bool:
        """Whether the targets cover the whole period."""
        return self.days_covered == self.period_days

    @property
    def achievement(self) -> float:
        """Actual / target (the deviation rate plus one)."""
        return M.safe_div(self.actual, self.target)


def target_comparisons(tva: pd.DataFrame, leave_out=()) -> list[TargetComparison]:
    """The rows of :func:`target_vs_actual` as typed comparisons, metrics in ``leave_out`` (the
    KPIs the shop cannot give: a target for UV without events has nothing to compare) left out."""
    out = []
    for r in tva.itertuples():
        if r.metric in leave_out:
            continue
        out.append(
            TargetComparison(
                r.metric,
                float(r.actual),
                float(r.target),
                float(r.deviation_rate),
                int(r.days_covered),
                int(r.period_days),
                list(r.covered),
            )
        )
    return out


@dataclass(frozen=True)
class Breakdown:
    """GMV by the values of an order column (``channel``, ``device``) in the period and in the
    previous period: ``table`` has ``value``, ``gmv``, ``previous`` (NaN when the base is not
    covered), ``change`` and ``change_pct``, largest GMV first."""

    dimension: Dimension
    table: pd.DataFrame


def gmv_by(
    src: DataSource, dimension: Dimension, start: _dt.date, end: _dt.date, base: ComparisonBase
) -> Breakdown:
    """GMV of valid orders by ``dimension`` in ``[start, end]`` and in ``base`` (a value missing
    in the data is ``(none)``). The previous GMV is NaN when the base is not covered by orders."""
    orders = M.valid_orders(src.table("orders"))
    periods = {"gmv": (start, end)}
    if base.covers("gmv"):
        periods["previous"] = (base.start, base.end)
    # one statement: GMV by value in the period and in its base, each a sum over its own days
    t = _in_ranges(orders, "order_ts", list(periods.values()))
    t = t.mutate(value=t[dimension].cast("string").fill_null("(none)"))
    sums = {}
    for col, (lo, hi) in periods.items():
        lo_ts, hi_ts = as_date_bounds(lo, hi)
        sums[col] = t.gmv.sum(where=(t.order_ts >= lo_ts) & (t.order_ts < hi_ts))
    df = src.execute(t.group_by("value").aggregate(**sums)).set_index("value").astype(float)
    if "previous" not in df:
        df["previous"] = np.nan
    df = df[["gmv", "previous"]]
    df["gmv"] = df["gmv"].fillna(0.0)
    if base.covers("gmv"):
        df["previous"] = df["previous"].fillna(0.0)
    df["change"] = df["gmv"] - df["previous"]
    df["change_pct"] = M.safe_div(df["change"], df["previous"]).to_numpy()
    df = (
        df.rename_axis("value").reset_index().sort_values(["gmv", "value"], ascending=[False, True])
    )
    return Breakdown(dimension, df.reset_index(drop=True))


@dataclass(frozen=True)
class KpiMonitor:
    """Everything the KPI report shows, computed once (:func:`monitor`)."""

    start: _dt.date
    end: _dt.date
    grain: Grain
    data_end: _dt.date | None
    traffic: bool
    unavailable: dict[str, Reason]
    totals: dict[str, float]
    previous: dict[str, float]
    last_year: dict[str, float]
    pop: ComparisonBase
    yoy: ComparisonBase
    series: pd.DataFrame
    previous_series: pd.DataFrame | None
    decomposition: pd.DataFrame
    targets: list[TargetComparison]
    target_line: pd.Series
    breakdowns: list[Breakdown] = field(default_factory=list)
    # the campaigns with a day in the period, and GMV by channel and device against last year
    # (computed when the action rules compare with last year: :attr:`like_base`)
    campaigns: tuple[Campaign, ...] = ()
    breakdowns_yoy: list[Breakdown] = field(default_factory=list)

    @property
    def kpis(self) -> list[str]:
        """The KPIs this shop's tables give, in report order."""
        return [k for k in KPI_KEYS if k not in self.unavailable]

    @property
    def period_days(self) -> int:
        return (self.end - self.start).days + 1

    def target(self, metric: str = "gmv") -> TargetComparison | None:
        """The target comparison of ``metric``, None without a target."""
        return next((t for t in self.targets if t.metric == metric), None)

    def change(self, key: str, how: BaseHow = "pop") -> float:
        """Relative change of KPI ``key`` against the base (NaN when not covered)."""
        base = self.previous if how == "pop" else self.last_year
        return M.safe_div(self.totals[key] - base[key], base[key])

    def base(self, how: BaseHow) -> ComparisonBase:
        return self.pop if how == "pop" else self.yoy

    def base_totals(self, how: BaseHow) -> dict[str, float]:
        return self.previous if how == "pop" else self.last_year

    def campaign_differs(self, how: BaseHow) -> bool:
        """Whether one of the period and the base holds a campaign and the other none."""
        return bool(self.campaigns) != bool(self.base(how).campaigns)

    @property
    def like_base(self) -> BaseHow | None:
        """The base the action rules compare with: the previous period, unless only one of the
        two holds a campaign (a fall against Double 11 is not a problem to fix); then last year
        when it has the same campaign pattern and the data covers it; else None (no rule on a
        change fires)."""
        if not self.campaign_differs("pop"):
            return "pop"
        if not self.campaign_differs("yoy") and self.yoy.covers("gmv"):
            return "yoy"
        return None

    def decomposition_against(self, how: BaseHow) -> pd.DataFrame:
        """The GMV decomposition against ``how`` (the report's own is against the previous
        period)."""
        if how == "pop":
            return self.decomposition
        return gmv_decomposition(self.totals, self.last_year, self.traffic)

    def breakdowns_against(self, how: BaseHow) -> list[Breakdown]:
        return self.breakdowns if how == "pop" else self.breakdowns_yoy

    @property
    def conversion_rate_per_bucket(self) -> float:
        """The conversion rate on the trend's base: buyers per bucket summed over the buckets,
        over UV per bucket summed (a visitor counted once per day, week or month, as each point
        of the trend counts them). The period's conversion rate counts a visitor once over the
        whole period, so with visitors who come back in several buckets it is above every point
        of the trend; this figure lies within the trend's range (a UV-weighted mean of its
        points). NaN without events."""
        if not self.traffic:
            return float("nan")
        return M.conversion_rate(self.series["buyers"].sum(), self.series["uv"].sum())


def monitor(
    src: DataSource,
    start: _dt.date,
    end: _dt.date,
    grain: Grain,
    data_end: _dt.date | None = None,
) -> KpiMonitor:
    """Every figure of the KPI report for ``[start, end]`` at ``grain``: totals, the two
    comparison bases (n/a where the data does not cover them), the series by bucket (partial
    buckets flagged, up to ``data_end``), the previous period's series (for the faded line), the
    GMV decomposition against the previous period, targets like for like (metrics this shop
    cannot give left out), the GMV target per bucket and GMV by channel and device where orders
    have those columns."""
    traffic = has_traffic(src)
    missing = unavailable(src)
    totals = kpi_totals(src, start, end)
    starts, among = data_starts(src), campaigns(src)  # read once for both bases
    previous, pop = comparison_base(src, start, end, "pop", starts, among)
    last_year, yoy = comparison_base(src, start, end, "yoy", starts, among)
    series = kpi_series(src, start, end, grain, data_end)
    prev_series = kpi_series(src, pop.start, pop.end, grain) if pop.covers("gmv") else None
    targets = load_targets(src)
    comparisons = target_comparisons(target_vs_actual(src, targets, start, end, totals), missing)
    columns = src.table("orders").columns
    in_period = campaigns_between(src, start, end, among)
    dims = [d for d in DIMENSIONS if d in columns]
    # against last year too when only one of the period and the previous one holds a campaign
    yoy_by = [] if bool(in_period) == bool(pop.campaigns) else dims
    return KpiMonitor(
        start=start,
        end=end,
        grain=grain,
        data_end=data_end,
        traffic=traffic,
        unavailable=missing,
        totals=totals,
        previous=previous,
        last_year=last_year,
        pop=pop,
        yoy=yoy,
        series=series,
        previous_series=prev_series,
        decomposition=gmv_decomposition(totals, previous, traffic),
        targets=comparisons,
        target_line=targets_by_bucket(targets, series, "gmv", grain, start, end),
        breakdowns=[gmv_by(src, d, start, end, pop) for d in dims],
        campaigns=in_period,
        breakdowns_yoy=[gmv_by(src, d, start, end, yoy) for d in yoy_by],
    )


# --- the action rules ----------------------------------------------------------------------------

TARGET_SHORTFALL = 0.03  # GMV more than 3% below its target
SEGMENT_FALL = 0.10  # a channel's or device's GMV down more than 10% against the comparison base
REFUND_RISE = 0.01  # refund rate up more than 1 percentage point against the comparison base
# The rules on a change (drivers, channels and devices, refunds) compare with KpiMonitor.like_base:
# the previous period, or last year when only one of the period and the previous one holds a
# campaign (a fall against Double 11 is the campaign's base, not a problem to fix).


@dataclass(frozen=True)
class LateFeed:
    """The data ends before the period does: the last days' figures are incomplete."""

    kind: ClassVar[str] = "late_feed"

    last_day: _dt.date
    end: _dt.date

    @property
    def days_missing(self) -> int:
        return (self.end - self.last_day).days


@dataclass(frozen=True)
class CampaignBase:
    """Only one of the period and the previous period holds a campaign: the period-over-period
    change (``change``) is not like for like. ``like`` is the base the rules use instead (last
    year) with GMV's change against it, or None when no like base is covered."""

    kind: ClassVar[str] = "campaign_base"

    current: tuple[Campaign, ...]
    previous: tuple[Campaign, ...]
    change: float
    like: BaseHow | None
    like_change: float


@dataclass(frozen=True)
class BelowTarget:
    """GMV more than :data:`TARGET_SHORTFALL` below target. ``how`` is the comparison base
    (:attr:`KpiMonitor.like_base`, None when there is none) and ``change`` GMV's relative change
    against it. Only when GMV fell against it does a driver explain the miss: ``driver`` is then
    the driver with the largest negative contribution (None otherwise: a miss while GMV grew is
    against the target's level, not a fall)."""

    kind: ClassVar[str] = "below_target"

    target: TargetComparison
    how: BaseHow | None
    change: float
    driver: str | None
    contribution: float


@dataclass(frozen=True)
class SegmentFell:
    """The channel or device whose GMV fell most (in money) against the comparison base ``how``,
    by more than :data:`SEGMENT_FALL`."""

    kind: ClassVar[str] = "segment_fell"

    dimension: Dimension
    value: str
    gmv: float
    previous: float
    how: BaseHow = "pop"

    @property
    def change_pct(self) -> float:
        return M.safe_div(self.gmv - self.previous, self.previous)


@dataclass(frozen=True)
class RefundUp:
    """Refund rate up more than :data:`REFUND_RISE` against the comparison base ``how``."""

    kind: ClassVar[str] = "refund_up"

    rate: float
    previous: float
    how: BaseHow = "pop"


Signal = LateFeed | CampaignBase | BelowTarget | SegmentFell | RefundUp


def below_target(result: KpiMonitor, tg: TargetComparison) -> BelowTarget:
    """The GMV target miss with what explains it against the comparison base: the driver that
    pulled GMV down most when GMV fell; none when it rose (or there is no base)."""
    how = result.like_base
    change, driver, contrib = float("nan"), None, float("nan")
    if how is not None:
        change = result.change("gmv", how)
        d = result.decomposition_against(how).dropna(subset=["contribution"])
        d = d[d["contribution"] < 0]
        if change < 0 and len(d):
            worst = d.loc[d["contribution"].idxmin()]
            driver, contrib = str(worst["driver"]), float(worst["contribution"])
    return BelowTarget(tg, how, change, driver, contrib)


def signals(result: KpiMonitor) -> list[Signal]:
    """The report's action rules applied to its figures, most urgent first: a late feed (every
    other figure is read on incomplete data), a previous period with a campaign the period does
    not have (or the reverse), GMV below target, the channel and device that fell most, a rising
    refund rate; the last two against :attr:`KpiMonitor.like_base` and not at all without one."""
    out: list[Signal] = []
    if result.data_end is not None and result.data_end < result.end:
        out.append(LateFeed(result.data_end, result.end))
    how = result.like_base
    if result.campaign_differs("pop") and result.pop.covers("gmv"):
        like_change = float("nan") if how is None else result.change("gmv", how)
        out.append(
            CampaignBase(
                result.campaigns,
                result.pop.campaigns,
                result.change("gmv", "pop"),
                how,
                like_change,
            )
        )
    tg = result.target("gmv")
    if tg is not None and tg.deviation_rate < -TARGET_SHORTFALL:
        out.append(below_target(result, tg))
    if how is None:
        return out
    for b in result.breakdowns_against(how):
        t = b.table.dropna(subset=["change_pct"])
        t = t[t["change_pct"] < -SEGMENT_FALL]
        if len(t):
            w = t.loc[t["change"].idxmin()]
            out.append(
                SegmentFell(
                    b.dimension, str(w["value"]), float(w["gmv"]), float(w["previous"]), how
                )
            )
    rate, prev = result.totals["refund_rate"], result.base_totals(how)["refund_rate"]
    if not (math.isnan(rate) or math.isnan(prev)) and rate - prev > REFUND_RISE:
        out.append(RefundUp(rate, prev, how))
    return out
