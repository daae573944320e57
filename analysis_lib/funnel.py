"""Funnel analysis (漏斗分析) over ``events``, computed in the engine with Ibis.

Semantics (those of PostHog / Mixpanel / Amplitude funnels, stated in the report):

- counting unit: users (default) or sessions;
- entry: a unit's *first* step-1 event in the period; the conversion window (default 7 days) starts
  there and is not reset by later steps;
- ``ordered`` (default): each step must come at or after the previous one (other events may come
  between); ``strict``: the unit's very next events must be the next steps, nothing between;
- a unit counts once per step however many events it has;
- exclusions: a unit that does an exclusion event between its entry and its last completed step
  leaves the funnel (it is not counted at any step);
- breakdowns take the value of the entry event (``channel``, ``device``...), or ``new_vs_returning``
  (new: no event before the period), or ``category`` (the product category of the entry's sku).

Step conversion intervals are Wilson intervals (statsmodels); two periods are compared per step with
a two-proportion z-test (statsmodels).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

import ibis
import numpy as np
import pandas as pd
from statsmodels.stats.proportion import proportion_confint, proportions_ztest

from analysis_lib.data import DataSource, as_date_bounds


@dataclass(frozen=True)
class FunnelSpec:
    """What a funnel counts: ``steps`` (event names), ``window_days``, ``mode`` (ordered or
    strict), ``unit`` (user or session) and ``exclusions`` (event names)."""

    steps: tuple[str, ...]
    window_days: float = 7.0
    mode: str = "ordered"
    unit: str = "user"
    exclusions: tuple[str, ...] = ()

    @property
    def unit_col(self) -> str:
        """Column of ``events`` that identifies a unit."""
        return "user_id" if self.unit == "user" else "session_id"


def _events(src: DataSource, spec: FunnelSpec, start, end) -> ibis.Table:
    """Events from the period's start up to its end plus the window (late steps may complete)."""
    ev = src.table("events")
    lo, hi = as_date_bounds(start, end)
    hi_win = hi + _dt.timedelta(days=spec.window_days)
    names = list(spec.steps) + list(spec.exclusions)
    ev = ev.filter((ev.event_ts >= lo) & (ev.event_ts < hi_win))
    if spec.mode == "ordered":
        ev = ev.filter(ev.event.isin(names))
    return ev.filter(ev[spec.unit_col].notnull())


def unit_steps(
    src: DataSource, spec: FunnelSpec, start, end, breakdown: str | None = None
) -> ibis.Table:
    """One row per unit that entered the funnel: ``unit``, ``t1``..``tK`` (time each step was first
    reached, null when not), ``steps_reached`` and, with ``breakdown``, its value ``bd``.

    The period's step events are read once and cached in the engine (a temp table); each step then
    joins only the units that reached the previous one. The walk does not depend on the breakdown,
    so a run walks once: the first breakdown asked for rides along (its column read with the step
    events), later ones are joined on from each unit's entry event. Results are cached in the
    engine and kept for the run (``src.memo``): the funnel, its breakdowns, time to convert, trend
    and export share them."""
    key = ("unit_steps", spec, str(start), str(end), breakdown)
    walk_key = key[:-1] + (None,)
    if key not in src.memo:
        if walk_key in src.memo:
            src.memo[key] = (
                src.memo[walk_key]
                .join(_entry_breakdown(src, spec, start, end, breakdown), "unit")
                .cache()
            )
        else:
            cur = src.memo[key] = _walk(src, spec, start, end, breakdown).cache()
            if breakdown is not None:
                src.memo[walk_key] = cur.drop("bd")
    return src.memo[key]


def _entry(s1: ibis.Table, bd_col: str | None) -> ibis.Table:
    """Per unit from its step-1 events in the period: ``t1``, its first, and ``bd``, the value of
    ``bd_col`` on that event (when ``s1`` carries that column; the callers leave it out when it
    is the unit column itself)."""
    aggs = {"t1": s1.event_ts.min()}
    if bd_col is not None and bd_col in s1.columns:
        aggs["bd"] = s1[bd_col].argmin(s1.event_ts)
    return s1.group_by("unit").aggregate(**aggs)


def _bd_col(breakdown: str | None) -> str | None:
    """The events column a breakdown reads (a product category is looked up from the sku)."""
    return "sku" if breakdown == "category" else breakdown


def _entry_breakdown(src: DataSource, spec: FunnelSpec, start, end, breakdown: str) -> ibis.Table:
    """``unit``, ``bd``: each unit's breakdown value, taken from its entry (its first step-1 event
    in the period); see :func:`_attach_breakdown`."""
    ev = src.table("events")
    lo, hi = as_date_bounds(start, end)
    u = spec.unit_col
    s1 = ev.filter(
        (ev.event == spec.steps[0]) & (ev.event_ts >= lo) & (ev.event_ts < hi) & ev[u].notnull()
    )
    col = _bd_col(breakdown)
    s1 = s1.select(
        unit=s1[u],
        event_ts=s1.event_ts,
        **({col: s1[col]} if col in s1.columns and col != u else {}),
    )
    base = _entry(s1, col)
    return _attach_breakdown(src, base, breakdown, spec, start).select("unit", "bd")


def _walk(src: DataSource, spec: FunnelSpec, start, end, breakdown: str | None) -> ibis.Table:
    """The unit-step table (see :func:`unit_steps`), with ``bd`` when ``breakdown`` is given."""
    raw = _events(src, spec, start, end)
    names = list(spec.steps) + list(spec.exclusions)
    # events as small integers (step index; exclusions after the steps; -1 any other event in
    # strict mode), read from storage once and cached in the engine
    code = ibis.cases(*[(raw.event == n, i) for i, n in enumerate(names)], else_=-1).cast("int8")
    col = _bd_col(breakdown)
    extra = {col: raw[col]} if col in raw.columns and col != spec.unit_col else {}
    ev = raw.select(**extra, unit=raw[spec.unit_col], code=code, event_ts=raw.event_ts).cache()
    lo, hi = as_date_bounds(start, end)
    win = ibis.interval(seconds=int(spec.window_days * 86400))
    base = _entry(ev.filter((ev.code == 0) & (ev.event_ts >= lo) & (ev.event_ts < hi)), col)
    if breakdown is not None:
        base = _attach_breakdown(src, base, breakdown, spec, start)
    k = len(spec.steps)
    if spec.mode == "ordered":
        cur = base
        prev = base.select("unit", "t1", t_prev=base.t1)
        for i in range(1, k):
            step = ev.filter(ev.code == i)
            step = step.select(unit_s=step.unit, ts=step.event_ts)
            j = prev.join(
                step,
                (prev.unit == step.unit_s) & (step.ts >= prev.t_prev) & (step.ts <= prev.t1 + win),
            )
            prev = j.group_by("unit", "t1").aggregate(t_prev=j.ts.min())
            reached_i = prev.select(unit_i=prev.unit, **{f"t{i + 1}": prev.t_prev})
            cur = cur.left_join(reached_i, cur.unit == reached_i.unit_i).drop("unit_i")
    else:
        cur = _strict(ev, base, spec, win)
    reached = sum(cur[f"t{i + 1}"].notnull().cast("int64") for i in range(k))
    cur = cur.mutate(steps_reached=reached)
    if spec.exclusions:
        ex = ev.filter(ev.code >= k).select(unit_x=ev.unit, ex_ts=ev.event_ts)
        last = ibis.coalesce(*[cur[f"t{i}"] for i in range(k, 0, -1)])
        cur = cur.mutate(t_last=last)
        hit = cur.join(ex, (cur.unit == ex.unit_x) & (ex.ex_ts > cur.t1) & (ex.ex_ts < cur.t_last))
        bad = hit.select(unit=hit.unit).distinct()
        cur = cur.anti_join(bad, "unit").drop("t_last")
    return cur


def _strict(ev: ibis.Table, base: ibis.Table, spec: FunnelSpec, win) -> ibis.Table:
    """Strict order: position each event in the unit's sequence; steps reached = the length of the
    prefix of the step list that the events from the entry onwards match."""
    w = ibis.window(group_by=ev.unit, order_by=[ev.event_ts, ev.code])
    seq = ev.mutate(rn=ibis.row_number().over(w)).select("unit", "code", "event_ts", "rn")
    entry = seq.join(base.select("unit", "t1"), "unit").filter(lambda t: t.event_ts == t.t1)
    entry = entry.group_by("unit").aggregate(rn1=entry.rn.min())
    k = len(spec.steps)
    j = seq.join(entry, "unit")
    j = j.mutate(pos=j.rn - j.rn1).filter(lambda t: (t.pos >= 0) & (t.pos < k))
    j = j.join(base.select("unit", "t1"), "unit")
    ok = (j.code == j.pos.cast("int8")) & (j.event_ts <= j.t1 + win)
    first_bad = j.group_by("unit").aggregate(
        first_bad=ok.ifelse(ibis.literal(k, "int64"), j.pos.cast("int64")).min(),
        **{f"ts{i}": (j.pos == i).ifelse(j.event_ts, ibis.null()).max() for i in range(k)},
    )
    cur = base.join(first_bad, "unit", how="left")
    cols = {
        f"t{i + 1}": (cur.first_bad > i).ifelse(cur[f"ts{i}"], ibis.null()) for i in range(1, k)
    }
    return cur.mutate(**cols).drop("first_bad", *[f"ts{i}" for i in range(k)])


def _attach_breakdown(src, base, breakdown, spec, start):
    """``bd``: the entry event's value (already in ``base``), the product category of its sku, or
    new vs returning (new: no event of the unit before the period)."""
    lo, _ = as_date_bounds(start, start)
    if breakdown == "new_vs_returning":
        allev = src.table("events")
        before = allev.filter(allev.event_ts < lo).select(unit=allev[spec.unit_col]).distinct()
        before = before.mutate(seen=ibis.literal(1))
        j = base.left_join(before, "unit")
        return j.select(*[c for c in base.columns], bd=j.seen.isnull().ifelse("new", "returning"))
    if "bd" not in base.columns:
        return base.mutate(bd=ibis.literal("(none)"))
    if breakdown == "category":
        p = src.table("products").select("sku", "category")
        j = base.left_join(p, base.bd == p.sku)
        base = j.select(*[c for c in base.columns if c != "bd"], bd=j.category)
    return base.mutate(bd=base.bd.cast("string").fill_null("(none)"))


def step_table(counts: list[int], steps: list[str], alpha: float = 0.05) -> pd.DataFrame:
    """Per step: units, step conversion (from the previous step) with a Wilson interval, overall
    conversion (from step 1) and the drop-off count."""
    n = np.asarray(counts, dtype=float)
    prev = np.concatenate([[n[0]], n[:-1]])
    lo, hi = proportion_confint(
        n.astype(int), np.maximum(prev, 1).astype(int), alpha=alpha, method="wilson"
    )
    df = pd.DataFrame(
        {
            "step": steps,
            "units": n.astype(int),
            "step_conversion": np.where(prev > 0, n / np.where(prev > 0, prev, 1), np.nan),
            "ci_low": np.where(prev > 0, lo, np.nan),
            "ci_high": np.where(prev > 0, hi, np.nan),
            "overall_conversion": n / n[0] if n[0] else np.nan,
            "drop_off": (prev - n).astype(int),
        }
    )
    return df


def counts(
    src: DataSource, spec: FunnelSpec, start, end, breakdown: str | None = None
) -> pd.DataFrame:
    """Units reaching each step (rows: breakdown values, or one row ``all``; columns: step names)."""
    us = unit_steps(src, spec, start, end, breakdown)
    k = len(spec.steps)
    aggs = {s: (us.steps_reached >= i + 1).cast("int64").sum() for i, s in enumerate(spec.steps)}
    if breakdown is None:
        df = src.execute(us.aggregate(**aggs))
        df.index = ["all"]
    else:
        df = src.execute(us.group_by("bd").aggregate(**aggs)).set_index("bd").sort_index()
    return df.fillna(0).astype(int)[list(spec.steps)] if k else df


def funnel(src: DataSource, spec: FunnelSpec, start, end) -> pd.DataFrame:
    """The whole funnel for the period as a :func:`step_table`."""
    c = counts(src, spec, start, end).iloc[0]
    return step_table(c.tolist(), list(spec.steps))


def breakdown_table(src: DataSource, spec: FunnelSpec, start, end, by: str) -> pd.DataFrame:
    """Step conversion per breakdown value: rows value, columns ``step_i -> step_{i+1}`` plus
    ``entered`` and ``overall``."""
    c = counts(src, spec, start, end, by)
    out = pd.DataFrame(index=c.index)
    out["entered"] = c[spec.steps[0]]
    for a, b in zip(spec.steps[:-1], spec.steps[1:], strict=True):
        out[f"{a} → {b}"] = c[b] / c[a].where(c[a] > 0)
    out["overall"] = c[spec.steps[-1]] / c[spec.steps[0]].where(c[spec.steps[0]] > 0)
    return out


def time_to_convert(
    src: DataSource, spec: FunnelSpec, start, end, bins: int = 20
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Seconds from each step to the next among units that made it: per step median and p90, and
    a histogram (log-spaced bins) of the time from entry to the last step."""
    us = unit_steps(src, spec, start, end)
    rows = []
    for i in range(1, len(spec.steps)):
        d = us.filter(us[f"t{i + 1}"].notnull())
        secs = (d[f"t{i + 1}"].epoch_seconds() - d[f"t{i}"].epoch_seconds()).name("s")
        agg = src.execute(
            d.aggregate(n=secs.count(), median=secs.quantile(0.5), p90=secs.quantile(0.9))
        ).iloc[0]
        rows.append(
            {
                "step": f"{spec.steps[i - 1]} → {spec.steps[i]}",
                "units": int(agg["n"]),
                "median_s": float(agg["median"]) if agg["n"] else np.nan,
                "p90_s": float(agg["p90"]) if agg["n"] else np.nan,
            }
        )
    k = len(spec.steps)
    done = us.filter(us[f"t{k}"].notnull())
    tot = (done[f"t{k}"].epoch_seconds() - done.t1.epoch_seconds()).name("s")
    edges = np.unique(np.concatenate([[0], np.geomspace(1, spec.window_days * 86400, bins)]))
    bucket = ibis.cases(
        *[(tot < float(e), i) for i, e in enumerate(edges[1:])], else_=len(edges) - 1
    )
    m = done.mutate(b=bucket)
    h = src.execute(m.group_by("b").aggregate(units=m.count()))
    hist = pd.DataFrame({"upper_s": np.append(edges[1:], np.inf)})
    hist["units"] = hist.index.map(h.set_index("b")["units"]).fillna(0).astype(int)
    return pd.DataFrame(rows), hist


def trend(src: DataSource, spec: FunnelSpec, start, end, grain: str = "week") -> pd.DataFrame:
    """Overall conversion by entry cohort (the day or week of each unit's entry)."""
    us = unit_steps(src, spec, start, end)
    k = len(spec.steps)
    us = us.mutate(bucket=us.t1.truncate({"day": "D", "week": "W"}[grain]))
    df = src.execute(
        us.group_by("bucket").aggregate(
            entered=us.count(), converted=(us.steps_reached >= k).cast("int64").sum()
        )
    ).sort_values("bucket")
    df["conversion"] = df["converted"] / df["entered"]
    return df.reset_index(drop=True)


def compare_periods(current: pd.DataFrame, previous: pd.DataFrame) -> pd.DataFrame:
    """Step conversion in two periods, with a two-proportion z-test per step (statsmodels)."""
    rows = []
    for i in range(1, len(current)):
        n1, d1 = current["units"][i], current["units"][i - 1]
        n0, d0 = previous["units"][i], previous["units"][i - 1]
        if min(d1, d0) > 0:
            z, p = proportions_ztest([n1, n0], [d1, d0])
        else:
            z, p = np.nan, np.nan
        c1 = n1 / d1 if d1 else np.nan
        c0 = n0 / d0 if d0 else np.nan
        rows.append(
            {
                "step": current["step"][i],
                "from_step": current["step"][i - 1],
                "current": c1,
                "previous": c0,
                "change": c1 - c0,
                "relative_change": c1 / c0 - 1 if c0 else np.nan,
                "z": z,
                "p_value": p,
            }
        )
    return pd.DataFrame(rows)


def bottleneck(comparison: pd.DataFrame, breakdown: pd.DataFrame | None = None) -> dict:
    """The bottleneck: the step whose conversion dropped most against its own previous period
    (most negative z statistic), and, where a breakdown is given, the breakdown value whose
    conversion at that step is lowest relative to the others."""
    c = comparison.dropna(subset=["z"])
    if c.empty:
        return {}
    row = c.loc[c["z"].idxmin()]
    out = {
        "step": row["step"],
        "from_step": row["from_step"],
        "change": float(row["change"]),
        "relative_change": float(row["relative_change"]),
        "p_value": float(row["p_value"]),
    }
    if breakdown is not None and len(breakdown) > 1:
        col = f"{row['from_step']} → {row['step']}"
        if col in breakdown:
            vals = breakdown[col].dropna()
            if len(vals):
                worst = vals.idxmin()
                out["worst_segment"] = str(worst)
                out["worst_segment_conversion"] = float(vals[worst])
                out["others_conversion"] = (
                    float(vals.drop(worst).mean()) if len(vals) > 1 else np.nan
                )
    return out


def dropoff_units(src: DataSource, spec: FunnelSpec, start, end, step: str) -> pd.Series:
    """Ids of units that reached ``step`` but not the next step (for a CRM export; never shown
    in a report)."""
    i = spec.steps.index(step)
    us = unit_steps(src, spec, start, end)
    ids = src.execute(us.filter(us.steps_reached == i + 1).select("unit").order_by("unit"))
    return ids["unit"].rename(spec.unit_col)


def export_dropoff(src: DataSource, spec: FunnelSpec, start, end, step: str, path: str) -> int:
    """Write :func:`dropoff_units` to ``path`` (CSV, written whole then renamed); returns the count."""
    import os
    from pathlib import Path

    ids = dropoff_units(src, spec, start, end, step)
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{p.name}.tmp")
    ids.to_frame().to_csv(tmp, index=False)
    os.replace(tmp, p)
    return len(ids)


_PHRASES = {
    "leak": {
        "en": "The step that leaks most is {a} → {b}: {conv} of units go on ({drop} drop off).",
        "zh": "流失最多的环节是 {a} → {b}：仅 {conv} 的用户进入下一步（流失 {drop}）。",
    },
    "overall": {
        "en": "{n} units entered the funnel; {conv} reached {last}.",
        "zh": "共 {n} 个用户进入漏斗，{conv} 完成 {last}。",
    },
    "bottleneck": {
        "en": "Against the previous period, {a} → {b} changed most: {cur} vs {prev} ({rel}, p = {p}).",
        "zh": "与对比周期相比，{a} → {b} 变化最大：{cur}，对比期 {prev}（{rel}，p = {p}）。",
    },
    "segment": {
        "en": "At that step, {seg} ({by}) converts worst: {conv} against {others} for the other values.",
        "zh": "在该环节，{seg}（{by}）转化最差：{conv}，其他取值平均 {others}。",
    },
    "channels": {
        "en": "Best converting channel: {best} ({bc}); worst: {worst} ({wc}).",
        "zh": "转化最好的渠道：{best}（{bc}）；最差：{worst}（{wc}）。",
    },
}


def findings(
    table: pd.DataFrame,
    comparison: pd.DataFrame | None,
    neck: dict,
    by: str | None,
    channels: pd.DataFrame | None,
    lang: str = "en",
) -> list[str]:
    """Plain-language findings generated from the numbers."""
    from analysis_lib.report import fmt

    def ph(key, **kw):
        return _PHRASES[key][lang].format(**kw)

    out = [
        ph(
            "overall",
            n=fmt(table["units"].iloc[0]),
            conv=fmt(table["overall_conversion"].iloc[-1], "pct"),
            last=table["step"].iloc[-1],
        )
    ]
    rest = table.iloc[1:].dropna(subset=["step_conversion"])
    if len(rest):
        w = rest.loc[rest["step_conversion"].idxmin()]
        i = int(w.name)
        out.append(
            ph(
                "leak",
                a=table["step"][i - 1],
                b=w["step"],
                conv=fmt(w["step_conversion"], "pct"),
                drop=fmt(w["drop_off"]),
            )
        )
    if neck:
        out.append(
            ph(
                "bottleneck",
                a=neck["from_step"],
                b=neck["step"],
                cur=fmt(
                    neck["change"] + comparison.set_index("step").loc[neck["step"], "previous"],
                    "pct",
                ),
                prev=fmt(comparison.set_index("step").loc[neck["step"], "previous"], "pct"),
                rel=fmt(neck["relative_change"], "signed_pct"),
                p=f"{neck['p_value']:.2g}",
            )
        )
        if "worst_segment" in neck:
            out.append(
                ph(
                    "segment",
                    seg=neck["worst_segment"],
                    by=by,
                    conv=fmt(neck["worst_segment_conversion"], "pct"),
                    others=fmt(neck["others_conversion"], "pct"),
                )
            )
    c = channels.dropna(subset=["conversion_rate"]) if channels is not None else None
    if c is not None and len(c) > 1:
        best, worst = c.loc[c["conversion_rate"].idxmax()], c.loc[c["conversion_rate"].idxmin()]
        out.append(
            ph(
                "channels",
                best=best["channel"],
                bc=fmt(best["conversion_rate"], "pct"),
                worst=worst["channel"],
                wc=fmt(worst["conversion_rate"], "pct"),
            )
        )
    return out
