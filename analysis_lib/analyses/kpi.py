"""KPI monitoring (数据监控看板): KPIs over a period and by grain, against targets and history.

Aggregations run in the engine (Ibis); what comes back is one small row per bucket. The GMV change
between two periods is split into additive contributions of traffic (UV), conversion
(buyers / UV), purchase frequency (orders / buyers) and AOV (GMV / orders) with the LMDI method
(logarithmic mean Divisia index), whose contributions add up exactly to the change.

A shop without an ``events`` table (most order exports: Olist, UCI Online Retail, ERP exports)
still gets every order KPI: UV and conversion rate are then left out (NaN, with the reason from
:func:`unavailable`), never computed from faked events, and the decomposition uses
GMV = buyers x orders per buyer x AOV, which still adds up exactly.
"""

from __future__ import annotations

import datetime as _dt
import math

import ibis
import numpy as np
import pandas as pd

from analysis_lib.core import metrics as M
from analysis_lib.core.data import DataSource, as_date_bounds, month_key

GRAIN_UNIT = {"day": "D", "week": "W", "month": "M"}
KPI_KEYS = ["gmv", "orders", "buyers", "aov", "uv", "conversion_rate", "refund_rate"]
# KPIs counted from events: absent (not zero) in a shop without an events table
TRAFFIC_KEYS = ["uv", "conversion_rate"]

_NO_EVENTS = {
    "en": "the shop has no events table (visits), so there is no UV to count",
    "zh": "该店铺没有 events 表（访问记录），无法统计访客数",
}


def has_traffic(src: DataSource) -> bool:
    """Whether the shop has an ``events`` table to count UV (and so conversion) from."""
    return src.has("events")


def unavailable(src: DataSource, lang: str = "en") -> dict[str, str]:
    """KPIs this shop's tables cannot give, each with the reason in ``lang``: UV and conversion
    rate without an ``events`` table. A report shows them as absent with this reason rather than
    a number computed from events that do not exist (faked purchase events read as 100%)."""
    if has_traffic(src):
        return {}
    return {k: _NO_EVENTS[lang] for k in TRAFFIC_KEYS}


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
    agg = src.execute(cur.aggregate(**M.order_aggregates(cur))).iloc[0].to_dict()
    uv = float("nan")
    if has_traffic(src):
        uv = src.execute(_in_ranges(src.table("events"), "event_ts", ranges).user_id.nunique())
    first = orders.group_by("user_id").aggregate(first_ts=orders.order_ts.min())
    first = _in_ranges(first, "first_ts", ranges)
    buyers = cur.select("user_id").distinct()
    new = buyers.join(first, "user_id").count()
    row = {k: float(v) for k, v in agg.items()}
    row["uv"] = float(uv)
    row["new_buyers"] = float(src.execute(new))
    row["returning_buyers"] = row["buyers"] - row["new_buyers"]
    out = M.add_ratios(pd.DataFrame([row])).iloc[0].to_dict()
    return {k: float(v) for k, v in out.items()}


def kpi_series(src: DataSource, start: _dt.date, end: _dt.date, grain: str) -> pd.DataFrame:
    """One row per ``grain`` bucket (day, week starting Monday, or month) in the period, with
    counts and ratios; buckets without activity are present with zeros. Without an events
    table there are no ``uv`` and ``conversion_rate`` columns."""
    unit = GRAIN_UNIT[grain]
    orders = M.valid_orders(src.table("orders"))
    cur = _in_period(orders, "order_ts", start, end)
    cur = cur.mutate(bucket=cur.order_ts.truncate(unit))
    o = src.execute(cur.group_by("bucket").aggregate(**M.order_aggregates(cur)))
    parts = [o]
    if has_traffic(src):
        ev = _in_period(src.table("events"), "event_ts", start, end)
        ev = ev.mutate(bucket=ev.event_ts.truncate(unit))
        parts.append(src.execute(ev.group_by("bucket").aggregate(uv=ev.user_id.nunique())))
    first = orders.group_by("user_id").aggregate(first_ts=orders.order_ts.min())
    first = first.mutate(first_bucket=first.first_ts.truncate(unit))
    b = cur.select("user_id", "bucket").distinct().join(first, "user_id")
    nb = src.execute(
        b.group_by("bucket").aggregate(new_buyers=(b.first_bucket == b.bucket).ifelse(1, 0).sum())
    )
    freq = {"day": "D", "week": "W-MON", "month": "MS"}[grain]
    first_bucket = pd.Timestamp(start).to_period({"day": "D", "week": "W-SUN", "month": "M"}[grain])
    idx = pd.date_range(first_bucket.start_time, pd.Timestamp(end), freq=freq, name="bucket")
    df = pd.DataFrame(index=idx)
    for part in (*parts, nb):
        part = part.assign(bucket=pd.to_datetime(part["bucket"]).astype("datetime64[ns]"))
        df = df.join(part.set_index("bucket"), how="left")
    df = df.fillna(0.0).astype(float)
    df["returning_buyers"] = df["buyers"] - df["new_buyers"]
    return M.add_ratios(df).reset_index()


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
    out = {}
    for table, col in (("orders", "order_ts"), ("events", "event_ts")):
        if not src.has(table):
            continue
        t = src.table(table)
        first = src.execute(t[col].min())
        out[table] = None if first is None or pd.isna(first) else pd.Timestamp(first).date()
    return out


def base_gaps(src: DataSource, start: _dt.date, end: _dt.date) -> dict[str, _dt.date | None]:
    """Tables (``orders``, ``events``) that do not cover ``[start, end]`` as a comparison base:
    the day their data starts, after ``start``, or None when they have no row in the base. A
    base that starts before a table's first row would compare a whole period with part of one."""
    gaps: dict[str, _dt.date | None] = {}
    for table, first in data_starts(src).items():
        if first is None or first > end:
            gaps[table] = None
        elif first > start:
            gaps[table] = first
    return gaps


def comparison_base(
    src: DataSource, start: _dt.date, end: _dt.date, how: str
) -> tuple[dict[str, float], dict]:
    """KPI totals of the comparison period (``pop`` or ``yoy``, :func:`shifted_period`) and a
    description of it: ``{"how", "start", "end", "gaps"}`` (:func:`base_gaps`; also a table
    with no row in the base, a feed that did not land). A KPI whose table does not cover the whole
    base is NaN: its change is n/a, not a number against part of a period."""
    b_start, b_end = shifted_period(start, end, how)
    base = kpi_totals(src, b_start, b_end)
    gaps = base_gaps(src, b_start, b_end)
    for table, n in (("orders", base["orders"]), ("events", base["uv"])):
        if n == 0 and src.has(table):
            gaps[table] = None
    for k in base:
        if any(t in gaps for t in _NEEDS.get(k, ("orders",))):
            base[k] = float("nan")
    return base, {"how": how, "start": b_start, "end": b_end, "gaps": gaps}


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
    cols = ["metric", "actual", "target", "deviation_rate", "days_covered", "complete", "covered"]
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
    out["complete"] = out["days_covered"] == period_days
    return out[cols]


def covered_text(ranges) -> str:
    """Date ranges as text: ``2025-01-01 – 2025-06-30, 2025-09-01 – 2025-12-31``."""
    return ", ".join(f"{lo} – {hi}" for lo, hi in ranges)


_PHRASES = {
    "gmv": {
        "en": "GMV was {gmv} from {start} to {end}: {pop} against the previous period and {yoy} year on year.",
        "zh": "{start} 至 {end} GMV 为 {gmv}，环比 {pop}，同比 {yoy}。",
    },
    "target_hit": {
        "en": "{metric} reached {ratio} of its target ({actual} against {target}; deviation {dev}).",
        "zh": "{metric}完成目标的 {ratio}（实际 {actual}，目标 {target}，偏差率 {dev}）。",
    },
    "target_partial": {
        "en": "Targets cover {days} of the period's {total} days ({ranges}): actual and target above are both for those days only.",
        "zh": "目标只覆盖本周期 {total} 天中的 {days} 天（{ranges}）：以上实际与目标均只计这些天。",
    },
    "base_na": {
        "en": "{what} changes are n/a for {kpis}: the base period {start} – {end} is not covered by the data ({why}).",
        "zh": "{what}（{kpis}）无法计算：基期 {start} 至 {end} 不在数据范围内（{why}）。",
    },
    "base_starts": {
        "en": "the {table} data starts on {first}",
        "zh": "{table} 数据从 {first} 开始",
    },
    "base_empty": {"en": "no {table} in it", "zh": "其中没有 {table} 数据"},
    "base_what": {
        "pop": {"en": "Period-over-period", "zh": "环比"},
        "yoy": {"en": "Year-over-year", "zh": "同比"},
    },
    "driver": {
        "en": "Against the previous period, GMV changed by {change}; the largest contribution came from {driver} ({contrib}), the smallest from {low} ({low_contrib}).",
        "zh": "与上一周期相比 GMV 变化 {change}；贡献最大的是{driver}（{contrib}），最小的是{low}（{low_contrib}）。",
    },
    "conversion": {
        "en": "Conversion rate was {cr} ({delta} against the previous period) on {uv} visitors.",
        "zh": "转化率为 {cr}（环比 {delta}），访客数 {uv}。",
    },
    "no_traffic": {
        "en": "UV and conversion rate are not reported: the shop has no events table (visits). The GMV change is split into buyers, orders per buyer and AOV (GMV = buyers × orders per buyer × AOV).",
        "zh": "未报告访客数和转化率：该店铺没有 events 表（访问记录）。GMV 变化按购买用户数、人均订单数和客单价拆分（GMV = 购买用户数 × 人均订单数 × 客单价）。",
    },
    "new": {
        "en": "{share} of the {buyers} buyers bought for the first time.",
        "zh": "{buyers} 位购买用户中有 {share} 为首次购买。",
    },
    "refund": {
        "en": "Refund rate was {rate} ({delta} against the previous period).",
        "zh": "退款率为 {rate}（环比 {delta}）。",
    },
}


def findings(
    totals: dict[str, float],
    previous: dict[str, float],
    last_year: dict[str, float],
    decomp: pd.DataFrame,
    tva: pd.DataFrame,
    start: _dt.date,
    end: _dt.date,
    lang: str = "en",
    bases: list[dict] = (),
    traffic: bool = True,
) -> list[str]:
    """Plain-language findings generated from the numbers (never typed in). ``bases``: the
    comparison periods as :func:`comparison_base` describes them; one the data does not cover
    gets a sentence saying which changes are n/a and why. ``traffic`` False (no events table,
    :func:`has_traffic`): a sentence saying UV and conversion are not reported and why, instead
    of the conversion sentence."""
    from analysis_lib.present.report import fmt, fmt_metric

    def ph(key: str, **kw) -> str:
        return _PHRASES[key][lang].format(**kw)

    def rel(a: float, b: float) -> str:
        r = M.safe_div(a - b, b)
        return fmt(r, "signed_pct") if not (isinstance(r, float) and math.isnan(r)) else "n/a"

    out = [
        ph(
            "gmv",
            gmv=fmt_metric("gmv", totals["gmv"]),
            start=start,
            end=end,
            pop=rel(totals["gmv"], previous["gmv"]),
            yoy=rel(totals["gmv"], last_year["gmv"]),
        )
    ]
    for _, r in tva.iterrows():
        out.append(
            ph(
                "target_hit",
                metric=M.label(r["metric"], lang),
                ratio=fmt(M.safe_div(r["actual"], r["target"]), "pct"),
                actual=fmt_metric(r["metric"], r["actual"]),
                target=fmt_metric(r["metric"], r["target"]),
                dev=fmt(r["deviation_rate"], "signed_pct"),
            )
        )
        if not r["complete"]:
            out.append(
                ph(
                    "target_partial",
                    days=f"{int(r['days_covered']):,}",
                    total=f"{(end - start).days + 1:,}",
                    ranges=covered_text(r["covered"]),
                )
            )
    for base in bases:
        if not base["gaps"]:
            continue
        sep = "；" if lang == "zh" else "; "
        why = sep.join(
            _PHRASES["base_empty"][lang].format(table=t)
            if first is None
            else _PHRASES["base_starts"][lang].format(table=t, first=first)
            for t, first in base["gaps"].items()
        )
        kpis = [
            M.label(k, lang)
            for k in KPI_KEYS
            if any(t in base["gaps"] for t in _NEEDS.get(k, ("orders",)))
            and (traffic or k not in TRAFFIC_KEYS)
        ]
        out.append(
            ph(
                "base_na",
                what=_PHRASES["base_what"][base["how"]][lang],
                kpis=("、" if lang == "zh" else ", ").join(kpis),
                start=base["start"],
                end=base["end"],
                why=why,
            )
        )
    d = decomp.dropna(subset=["contribution"])
    if len(d):
        hi = d.loc[d["contribution"].abs().idxmax()]
        lo = d.loc[d["contribution"].abs().idxmin()]
        out.append(
            ph(
                "driver",
                change=fmt(totals["gmv"] - previous["gmv"], "money"),
                driver=M.label(hi["driver"], lang),
                contrib=fmt(hi["contribution"], "money"),
                low=M.label(lo["driver"], lang),
                low_contrib=fmt(lo["contribution"], "money"),
            )
        )
    if traffic:
        out.append(
            ph(
                "conversion",
                cr=fmt(totals["conversion_rate"], "pct"),
                delta=fmt(totals["conversion_rate"] - previous["conversion_rate"], "pp"),
                uv=fmt(totals["uv"]),
            )
        )
    else:
        out.append(ph("no_traffic"))
    out.append(
        ph(
            "new",
            share=fmt(M.safe_div(totals["new_buyers"], totals["buyers"]), "pct"),
            buyers=fmt(totals["buyers"]),
        )
    )
    out.append(
        ph(
            "refund",
            rate=fmt(totals["refund_rate"], "pct"),
            delta=fmt(totals["refund_rate"] - previous["refund_rate"], "pp"),
        )
    )
    return out
