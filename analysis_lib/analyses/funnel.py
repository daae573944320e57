"""Funnel analysis (漏斗分析) over ``events``, computed in the engine with Ibis.

Semantics (stated in the report, in words: :func:`analysis_lib.present.narrative.funnel.method_notes`):

- counting unit: users (default) or sessions; a unit counts once per step;
- entry ``any`` (default): a unit's chains start at each of its step-1 events in the period, and the
  furthest chain counts; where several reach the same step, one without an excluded event, then the
  earliest (PostHog, Amplitude's "earliest-longest", ClickHouse ``windowFunnel``); ``first``: only
  the chain from its first step-1 event in the period (Mixpanel's classic "uniques");
- window: elapsed time from the chain's entry (UTC instants, so real seconds across a
  daylight-saving change), exact (``"36h"``, ``"30m"``, ``"7d"`` or seconds), its end included;
  periods and days are the shop's wall clock (``data.timezone``);
- mode ``ordered`` (default): each step at or after the previous one, other events may come
  between; ``strict``: no other event of the unit between the steps; ``any_order``: steps 2..K in
  any order within the window from step 1. Events at the same instant count as in order (in
  strict mode they are arranged in the order that continues the chain);
- exclusions (``{event, between: [from, to]}``, default the whole funnel): a unit whose chain has
  the event after reaching the from step and before reaching the to step (or, if it never did,
  within the window) is removed from every step (PostHog);
- breakdowns take the value of the counted chain's entry event (``channel``, ``device``...), or
  ``new_vs_returning`` (new: no event before the period), or ``category`` (the product category
  of the entry's sku).

Step conversion intervals are Wilson intervals (statsmodels); two periods are compared per step with
a two-proportion z-test (statsmodels). The bottleneck is the step whose conversion fell most against
the compare period, and the segment converting worst there (:class:`Bottleneck`): one definition,
computed once (:func:`analyse`), which every card, finding, action and the index show. Without a
compare period nothing "fell": the report acts instead on the largest significant gap between
segments at a step (:class:`StepGap`), tested with a Bonferroni correction over the gaps scanned. The walk
itself is in :mod:`analysis_lib.analyses.funnel_walk`. No words here: the report's sentences are in
:mod:`analysis_lib.present.narrative.funnel`.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
from dataclasses import KW_ONLY, dataclass, replace
from pathlib import Path
from typing import Literal, NamedTuple

import ibis
import numpy as np
import pandas as pd
from statsmodels.stats.proportion import proportion_confint, proportions_ztest

from analysis_lib.analyses import funnel_walk as W
from analysis_lib.analyses.funnel_walk import parse_window  # noqa: F401 - the window syntax
from analysis_lib.core.data import DataSource, as_date_bounds

Mode = Literal["ordered", "strict", "any_order"]
Entry = Literal["any", "first"]
Unit = Literal["user", "session"]
Grain = Literal["day", "week"]
MODES: tuple[Mode, ...] = ("ordered", "strict", "any_order")
ENTRIES: tuple[Entry, ...] = ("any", "first")


@dataclass(frozen=True)
class Exclusion:
    """Remove units whose counted chain has ``event`` between steps ``from_step`` and ``to_step``
    (0-based step indices; ``to_step`` -1: the last step)."""

    event: str
    from_step: int = 0
    to_step: int = -1


@dataclass(frozen=True)
class FunnelSpec:
    """What a funnel counts: ``steps`` (event names), ``window`` (seconds), ``mode``, ``unit``
    (user or session), ``exclusions`` (:class:`Exclusion`, or an event name for the whole funnel)
    and ``entry``. Keyword arguments after the steps, so that an old positional ``window_days``
    cannot be taken for seconds."""

    steps: tuple[str, ...]
    _: KW_ONLY
    window: float = 7 * 86400.0
    mode: Mode = "ordered"
    unit: Unit = "user"
    exclusions: tuple = ()
    entry: Entry = "any"

    def __post_init__(self) -> None:
        k = len(self.steps)
        if (
            self.mode not in MODES
            or self.entry not in ENTRIES
            or self.unit not in ("user", "session")
        ):
            raise ValueError(f"mode {self.mode!r}, entry {self.entry!r} or unit {self.unit!r}")
        if not self.window > 0:
            raise ValueError("the window must be positive")
        out = []
        for x in self.exclusions:
            x = Exclusion(x) if isinstance(x, str) else x
            to = k - 1 if x.to_step == -1 else x.to_step
            if x.event in self.steps:
                raise ValueError(f"exclusion '{x.event}' is also a step")
            if not 0 <= x.from_step < to < k:
                raise ValueError(f"exclusion '{x.event}': steps {x.from_step + 1}..{to + 1}")
            out.append(Exclusion(x.event, x.from_step, to))
        object.__setattr__(self, "exclusions", tuple(out))

    @property
    def unit_col(self) -> str:
        """Column of ``events`` that identifies a unit."""
        return "user_id" if self.unit == "user" else "session_id"

    @property
    def window_us(self) -> int:
        """The window in whole microseconds (exact for any window written in s, m, h or d)."""
        return round(self.window * W.US)

    @property
    def window_days(self) -> float:
        """The window in days."""
        return self.window / 86400

    def with_steps(self, steps: tuple[str, ...]) -> FunnelSpec:
        """The same funnel over a subset of its steps: exclusions whose two steps are kept keep
        them; whole-funnel exclusions stay whole-funnel; the others are dropped."""
        old = list(self.steps)
        kept = []
        for x in self.exclusions:
            a, b = old[x.from_step], old[x.to_step]
            if x.from_step == 0 and x.to_step == len(old) - 1:
                kept.append(Exclusion(x.event))
            elif a in steps and b in steps and steps.index(a) < steps.index(b):
                kept.append(Exclusion(x.event, steps.index(a), steps.index(b)))
        return replace(self, steps=tuple(steps), exclusions=tuple(kept))


def _names(spec: FunnelSpec) -> list[str]:
    """Step names, then the distinct exclusion events: an event's code is its index here."""
    return list(spec.steps) + list(dict.fromkeys(x.event for x in spec.exclusions))


def _events(src: DataSource, spec: FunnelSpec, start, end, carry: str | None = None) -> ibis.Table:
    """The events a walk reads, cached in the engine: ``unit``, ``code`` (step index; exclusion
    events after the steps; -1 any other event, read in strict mode only), ``at`` (UTC instant,
    microseconds) and ``event_ts`` (wall clock). From a day before the period to a day after its
    end plus the window (wall-clock margins for a daylight-saving shift; the walk compares
    instants). ``carry``: an events column read with them as ``bd`` when they are first read (the
    first breakdown asked for rides along instead of reading the events again; see
    :func:`_carried`)."""
    key = _events_key(spec, start, end)
    if key in src.memo:
        return src.memo[key]
    ev = W.timed_events(src)
    lo, hi = as_date_bounds(start, end)
    day = _dt.timedelta(days=1)
    names = _names(spec)
    ev = ev.filter(
        (ev.event_ts >= lo - day)
        & (ev.event_ts < hi + _dt.timedelta(seconds=spec.window) + day)
        & ev[spec.unit_col].notnull()
    )
    if spec.mode != "strict":
        ev = ev.filter(ev.event.isin(names))
    code = ibis.cases(*[(ev.event == n, i) for i, n in enumerate(names)], else_=-1).cast("int8")
    extra = {}
    if carry is not None and carry in ev.columns and carry != spec.unit_col:
        extra["bd"] = ev[carry]
    src.memo[key + ("carry",)] = carry if extra else None
    src.memo[key] = src.cache(
        ev.select(unit=ev[spec.unit_col], code=code, at=ev.at, event_ts=ev.event_ts, **extra)
    )
    return src.memo[key]


def _carried(src: DataSource, spec: FunnelSpec, start, end) -> str | None:
    """The events column :func:`_events` read along (``bd``), if any."""
    return src.memo.get(_events_key(spec, start, end) + ("carry",))


def _events_key(spec: FunnelSpec, start, end) -> tuple:
    return (
        "events",
        spec.steps,
        spec.exclusions,
        spec.mode,
        spec.unit,
        spec.window,
        str(start),
        str(end),
    )


def chains(src: DataSource, spec: FunnelSpec, start, end) -> ibis.Table:
    """Every chain a unit could be counted by (see :func:`analysis_lib.analyses.funnel_walk.candidates`),
    cached in the engine for the run."""
    key = ("chains", spec, str(start), str(end))
    if key not in src.memo:
        lo, hi = as_date_bounds(start, end)
        ev = _events(src, spec, start, end)
        src.memo[key] = src.cache(W.candidates(ev, spec, lo, hi, spec.window_us, src.cache))
    return src.memo[key]


def _choose(src, spec, start, end, cands, keys) -> ibis.Table:
    k = len(spec.steps)
    names = _names(spec)
    rules = [(names.index(x.event) - k, x.from_step, x.to_step) for x in spec.exclusions]
    xev = None
    if rules:
        ev = _events(src, spec, start, end)
        xev = ev.filter(ev.code >= k).select("unit", x=ev.code - k, e=ev.at)
    return W.choose(cands, rules, xev, keys, spec.window_us)


def unit_steps(
    src: DataSource, spec: FunnelSpec, start, end, breakdown: str | None = None
) -> ibis.Table:
    """One row per unit counted: ``unit``, ``entry_ts`` (wall-clock time of the counted chain's
    entry), ``at1``..``atK`` (UTC instants in microseconds at which it reached each step, null
    beyond its reach), ``steps_reached`` and, with ``breakdown``, its value ``bd``.

    The walk runs once per period and spec, whatever the breakdowns (each joins its value from the
    counted chain's entry event), and is kept in the engine for the run (``src.memo``): the
    funnel, its breakdowns, time to convert, trend and export share it."""
    key = ("unit_steps", spec, str(start), str(end))
    if key not in src.memo:
        ev = _events(src, spec, start, end, carry=_bd_col(breakdown))
        ride = {}
        if spec.mode == "ordered" and not spec.exclusions and len(spec.steps) > 1:
            # the counted chain straight from the events, without every chain (W.ordered_walk);
            # a breakdown read with the events comes out with the counted entry (entry any)
            lo, hi = as_date_bounds(start, end)
            k, first = len(spec.steps), spec.entry == "first"
            r = "bd" if "bd" in ev.columns and not first else None
            best = W.ordered_walk(ev, lo, hi, k, spec.window_us, first, ride=r)
            ride = {"bd_ride": best.bd} if r else {}
        else:
            best = _choose(src, spec, start, end, chains(src, spec, start, end), ["unit"])
        cols = [f"at{i + 1}" for i in range(len(spec.steps))]
        walked = src.cache(best.select("unit", "entry_ts", *cols, steps_reached=best.reach, **ride))
        src.memo[key + ("walk",)] = walked
        src.memo[key] = walked.drop("bd_ride") if ride else walked
    us = src.memo[key]
    if breakdown is None:
        return us
    # not kept in the engine: a report counts each breakdown once (a statement saved)
    return us.join(_entry_breakdown(src, spec, start, end, breakdown, us), "unit")


def _bd_col(breakdown: str | None) -> str | None:
    """The events column a breakdown reads (a product category is looked up from the sku)."""
    return "sku" if breakdown == "category" else breakdown


def _entry_breakdown(
    src: DataSource, spec: FunnelSpec, start, end, breakdown: str, us: ibis.Table
) -> ibis.Table:
    """``unit``, ``bd``: each counted unit's breakdown value, taken from its counted chain's entry
    event (the smallest value when several step-1 events share that instant); see
    :func:`_attach_breakdown`."""
    base = us.select("unit", "at1")
    col = _bd_col(breakdown)
    ev = W.timed_events(src)
    walked = src.memo.get(("unit_steps", spec, str(start), str(end), "walk"))
    if (
        col == _carried(src, spec, start, end)
        and walked is not None
        and "bd_ride" in walked.columns
    ):
        # came out of the walk with the counted entry
        base = walked.select("unit", "at1", bd=walked.bd_ride)
    elif col == _carried(src, spec, start, end):
        # read with the walk's events: the counted entries' events from the engine's copy
        ce = _events(src, spec, start, end)
        s1 = ce.filter(ce.code == 0).select(unit_e=ce.unit, at_e=ce.at, bd_e=ce.bd)
        j = base.left_join(s1, (base.unit == s1.unit_e) & (base.at1 == s1.at_e))
        base = j.group_by("unit", "at1").aggregate(bd=j.bd_e.min())
    elif col in ev.columns and col != spec.unit_col:
        lo, hi = as_date_bounds(start, end)
        day = _dt.timedelta(days=1)
        s1 = ev.filter(
            (ev.event == spec.steps[0])
            & (ev.event_ts >= lo - day)
            & (ev.event_ts < hi + day)
            & ev[spec.unit_col].notnull()
        )
        # join, then reduce: the counted entries pick their events out of every step-1 event,
        # so only those are grouped (grouping every step-1 event first took longer than the walk)
        s1 = s1.select(unit_e=s1[spec.unit_col], at_e=s1.at, bd_e=s1[col])
        j = base.left_join(s1, (base.unit == s1.unit_e) & (base.at1 == s1.at_e))
        base = j.group_by("unit", "at1").aggregate(bd=j.bd_e.min())
    return _attach_breakdown(src, base, breakdown, spec, start).select("unit", "bd")


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
    return _conversion_by(spec, counts(src, spec, start, end, by))


def _conversion_by(spec: FunnelSpec, c: pd.DataFrame) -> pd.DataFrame:
    """:func:`breakdown_table` from a :func:`counts` frame."""
    out = pd.DataFrame(index=c.index)
    out["entered"] = c[spec.steps[0]]
    for a, b in zip(spec.steps[:-1], spec.steps[1:], strict=True):
        out[f"{a} → {b}"] = c[b] / c[a].where(c[a] > 0)
    out["overall"] = c[spec.steps[-1]] / c[spec.steps[0]].where(c[spec.steps[0]] > 0)
    return out


def time_between(
    src: DataSource, spec: FunnelSpec, start, end, a: str, b: str, bins: int = 20
) -> tuple[dict, pd.DataFrame]:
    """Elapsed seconds from step ``a`` to a later step ``b`` among counted units that reached ``b``:
    ``{"units", "median_s", "p90_s"}`` and a histogram (``upper_s`` log-spaced up to the window,
    ``units``). Real elapsed time (UTC instants), computed in the engine."""
    (summary,) = _spans(src, spec, start, end, [(a, b)])
    return summary, _histogram(src, spec, start, end, a, b, bins)


def _secs(spec: FunnelSpec, us: ibis.Table, a: str, b: str):
    """Elapsed seconds from step ``a`` to step ``b`` (null where ``b`` was not reached)."""
    i, j = spec.steps.index(a) + 1, spec.steps.index(b) + 1
    if j <= i:
        raise ValueError(f"step '{b}' does not come after '{a}'")
    return (us[f"at{j}"] - us[f"at{i}"]).cast("float64") / W.US


def _spans(src: DataSource, spec: FunnelSpec, start, end, pairs) -> list[dict]:
    """``{"units", "median_s", "p90_s"}`` of each pair of steps, in one statement."""
    us = unit_steps(src, spec, start, end)
    aggs = {}
    for n, (a, b) in enumerate(pairs):
        secs = _secs(spec, us, a, b)
        aggs |= {f"n{n}": secs.count(), f"m{n}": secs.quantile(0.5), f"p{n}": secs.quantile(0.9)}
    agg = src.execute(us.aggregate(**aggs)).iloc[0]
    out = []
    for n in range(len(pairs)):
        k = int(agg[f"n{n}"])
        out.append(
            {
                "units": k,
                "median_s": float(agg[f"m{n}"]) if k else np.nan,
                "p90_s": float(agg[f"p{n}"]) if k else np.nan,
            }
        )
    return out


def _histogram(src: DataSource, spec: FunnelSpec, start, end, a, b, bins: int) -> pd.DataFrame:
    """Units by elapsed seconds from ``a`` to ``b``: ``upper_s`` log-spaced up to the window."""
    us = unit_steps(src, spec, start, end)
    secs = _secs(spec, us, a, b)
    d = us.filter(secs.notnull())
    secs = _secs(spec, d, a, b)
    edges = np.unique(np.concatenate([[0], np.geomspace(1, spec.window, bins)]))
    bucket = ibis.cases(
        *[(secs <= float(e), i) for i, e in enumerate(edges[1:])], else_=len(edges) - 1
    )
    m = d.mutate(b=bucket)
    h = src.execute(m.group_by("b").aggregate(units=m.count()))
    hist = pd.DataFrame({"upper_s": np.append(edges[1:], np.inf)})
    hist["units"] = hist.index.map(h.set_index("b")["units"]).fillna(0).astype(int)
    return hist


class Timing(NamedTuple):
    """Times to convert: per pair of steps (``steps``: ``step`` as ``(from, to)``, ``units``,
    ``median_s``, ``p90_s``, in seconds: the report shows them in the unit each reaches) and the
    histogram of the span asked for (``hist``; by default from the first step to the last)."""

    steps: pd.DataFrame
    hist: pd.DataFrame


def time_to_convert(
    src: DataSource, spec: FunnelSpec, start, end, bins: int = 20, between=None
) -> Timing:
    """Seconds from each step to the next among units that made it (median and p90), then from
    ``between`` (two step names; default the first and the last step) with the histogram of that
    span (bins up to the window, the window's end included)."""
    a, b = between or (spec.steps[0], spec.steps[-1])
    rows = []
    pairs = list(zip(spec.steps[:-1], spec.steps[1:], strict=True))
    if (a, b) not in pairs:
        pairs.append((a, b))
    for (x, y), summ in zip(pairs, _spans(src, spec, start, end, pairs), strict=True):
        rows.append({"step": (x, y), **summ})
    return Timing(pd.DataFrame(rows), _histogram(src, spec, start, end, a, b, bins))


def trend(src: DataSource, spec: FunnelSpec, start, end, grain: str = "week") -> pd.DataFrame:
    """Overall conversion by entry cohort: each counted unit once, in the day or week (shop's
    wall clock) of its counted chain's entry."""
    us = unit_steps(src, spec, start, end)
    k = len(spec.steps)
    us = us.mutate(bucket=us.entry_ts.truncate({"day": "D", "week": "W"}[grain]))
    df = src.execute(
        us.group_by("bucket").aggregate(
            entered=us.count(), converted=(us.steps_reached >= k).cast("int64").sum()
        )
    ).sort_values("bucket")
    df["conversion"] = df["converted"] / df["entered"]
    return df.reset_index(drop=True)


def entry_trend(src: DataSource, spec: FunnelSpec, start, end, grain: str = "day") -> pd.DataFrame:
    """Conversion over time counting every entry (as Amplitude's conversion over time): a unit
    counts in each day (or week) in which it entered, by its furthest chain from that day's
    entries (exclusions as in the funnel), so one unit can convert on one day and not on another.
    Always from every step-1 event, whatever ``entry``."""
    sp = replace(spec, entry="any")
    unit = {"day": "D", "week": "W"}[grain]
    k = len(spec.steps)
    if spec.mode == "ordered" and not spec.exclusions and k > 1:
        # per unit and bucket straight from the events, without a table of every chain
        lo, hi = as_date_bounds(start, end)
        ev = _events(src, sp, start, end)
        best = W.entry_day_walk(ev, lo, hi, k, sp.window_us, unit)
    else:
        c = chains(src, sp, start, end)
        c = c.mutate(bucket=c.entry_ts.truncate(unit))
        best = _choose(src, sp, start, end, c, ["unit", "bucket"])
    df = src.execute(
        best.group_by("bucket").aggregate(
            entered=best.count(), converted=(best.reach >= k).cast("int64").sum()
        )
    ).sort_values("bucket")
    df["conversion"] = df["converted"] / df["entered"]
    return df.reset_index(drop=True)


def steps_without_events(src: DataSource, spec: FunnelSpec, start, end) -> list[str]:
    """Steps with no event in the period (up to its end plus the window): they count zero."""
    ev = _events(src, spec, start, end)
    seen = set(src.execute(ev.filter(ev.code >= 0).select("code").distinct())["code"].tolist())
    return [s for i, s in enumerate(spec.steps) if i not in seen]


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


MIN_SEGMENT_UNITS = 30  # a segment smaller than this at the step is not named: its rate is noise
ALPHA = 0.05


@dataclass(frozen=True)
class SegmentGap:
    """The segment converting worst at the bottleneck step: ``value`` of breakdown ``by``, its
    ``units`` at the step before and how many went on (``converted``, so ``conversion``), against
    the other segments pooled (``others_conversion``), with the two-proportion z-test's
    ``p_value`` of the difference."""

    by: str
    value: str
    units: int
    converted: int
    conversion: float
    others_conversion: float
    p_value: float

    @property
    def shortfall(self) -> float:
        """Units that would have gone on had the segment converted as the others did: the size
        of the fix, stated in the report's action."""
        return max(0.0, self.units * (self.others_conversion - self.conversion))

    @property
    def significant(self) -> bool:
        """Whether the gap is significant at the 5% level."""
        return self.p_value < ALPHA


@dataclass(frozen=True)
class Bottleneck:
    """The bottleneck, the one definition the report uses everywhere: the step whose conversion
    fell most against the compare period (the most negative two-proportion z statistic, so a
    large fall on few units does not outrank a clear one on many), ``from_step`` → ``step``, with
    its conversion now (``current``) and then (``previous``); and at that step the segment
    converting worst against the others (:class:`SegmentGap`), if any breakdown has one.

    A step with the lowest conversion but no fall is not a bottleneck: product view → add to cart
    converts least in most shops every month; the bottleneck is what got worse."""

    from_step: str
    step: str
    current: float
    previous: float
    z: float
    p_value: float
    segment: SegmentGap | None = None

    @property
    def change(self) -> float:
        """Change of the step conversion, as a fraction (−0.10 is −10 percentage points)."""
        return self.current - self.previous

    @property
    def relative_change(self) -> float:
        return self.current / self.previous - 1 if self.previous else math.nan

    @property
    def significant(self) -> bool:
        """Whether the fall is significant at the 5% level."""
        return self.p_value < ALPHA


def segment_gap(counts_by: pd.DataFrame, by: str, from_step: str, step: str) -> SegmentGap | None:
    """The segment of ``counts_by`` (a :func:`counts` frame: rows segments, columns steps) that
    converts worst from ``from_step`` to ``step`` relative to the other segments pooled, among
    segments with at least :data:`MIN_SEGMENT_UNITS` units at ``from_step``; ``None`` with fewer
    than two segments or none large enough."""
    if len(counts_by) < 2 or from_step not in counts_by or step not in counts_by:
        return None
    n, k = counts_by[from_step].astype(int), counts_by[step].astype(int)
    best = None
    for value in counts_by.index:
        if n[value] < MIN_SEGMENT_UNITS:
            continue
        on, ok = int(n.drop(value).sum()), int(k.drop(value).sum())
        if on == 0:
            continue
        conv, others = k[value] / n[value], ok / on
        if others <= 0:
            continue
        ratio = conv / others
        if best is None or ratio < best[0]:
            best = (ratio, value, conv, others, on, ok)
    if best is None:
        return None
    _, value, conv, others, on, ok = best
    _, p = proportions_ztest([int(k[value]), ok], [int(n[value]), on])
    return SegmentGap(
        by=by,
        value=str(value),
        units=int(n[value]),
        converted=int(k[value]),
        conversion=float(conv),
        others_conversion=float(others),
        p_value=float(p) if p == p else 1.0,
    )


def bottleneck(
    comparison: pd.DataFrame, segments: dict[str, pd.DataFrame] | None = None
) -> Bottleneck | None:
    """The :class:`Bottleneck` of a :func:`compare_periods` table: ``None`` when no step's
    conversion fell (or none can be tested). ``segments``: :func:`counts` frames by breakdown;
    the segment named is the one converting worst relative to the others at the bottleneck step,
    across every breakdown."""
    c = comparison.dropna(subset=["z"])
    c = c[c["z"] < 0]
    if c.empty:
        return None
    row = c.loc[c["z"].idxmin()]
    gaps = [
        g
        for by, cb in (segments or {}).items()
        if (g := segment_gap(cb, by, row["from_step"], row["step"])) is not None
    ]
    worst = min(gaps, key=lambda g: g.conversion / g.others_conversion, default=None)
    return Bottleneck(
        from_step=str(row["from_step"]),
        step=str(row["step"]),
        current=float(row["current"]),
        previous=float(row["previous"]),
        z=float(row["z"]),
        p_value=float(row["p_value"]),
        segment=worst,
    )


@dataclass(frozen=True)
class StepGap:
    """Without a compare period, the gap between segments to act on: at each step and in each
    breakdown the segment converting worst against the others pooled (:func:`segment_gap`, the
    same minimum size as at the bottleneck), and of these the one that costs the most units (its
    :attr:`SegmentGap.shortfall`) among those significant at the 5% level after a Bonferroni
    correction for the ``tested`` gaps scanned (scanning every step of every breakdown finds a
    nominal p below 0.05 by chance alone); when none is significant, the costliest one, so the
    report can say why it names no action."""

    from_step: str
    step: str
    segment: SegmentGap
    tested: int

    @property
    def p_adjusted(self) -> float:
        """The gap's p-value times the gaps tested (Bonferroni), at most 1."""
        return min(1.0, self.segment.p_value * self.tested)

    @property
    def significant(self) -> bool:
        """Whether the gap is significant at the 5% level after the correction."""
        return self.p_adjusted < ALPHA


def largest_gap(table: pd.DataFrame, segments: dict[str, pd.DataFrame]) -> StepGap | None:
    """The :class:`StepGap` of a period's :func:`step_table` and its :func:`counts` frames by
    breakdown; ``None`` when no breakdown has two segments large enough at any step."""
    steps = [str(s) for s in table["step"]]
    found = [
        (a, b, g)
        for a, b in zip(steps[:-1], steps[1:], strict=True)
        for by, cb in segments.items()
        if (g := segment_gap(cb, by, a, b)) is not None
    ]
    if not found:
        return None
    gaps = [StepGap(a, b, g, len(found)) for a, b, g in found]
    sig = [x for x in gaps if x.significant]
    return max(sig or gaps, key=lambda x: x.segment.shortfall)


@dataclass(frozen=True)
class FunnelResult:
    """What the funnel report shows, computed once: the period's :func:`step_table` (``table``),
    the compare period's (``previous``) and the per-step test between them (``comparison``), the
    step conversion by each breakdown (``breakdowns``, :func:`breakdown_table`) and the units
    behind them (``segment_counts``, :func:`counts`), the :class:`Bottleneck` and the steps with
    no event in the period (``missing_steps``); without a compare period, the largest segment
    gap at a step (``gap``, :class:`StepGap`)."""

    spec: FunnelSpec
    table: pd.DataFrame
    previous: pd.DataFrame | None
    comparison: pd.DataFrame | None
    breakdowns: dict[str, pd.DataFrame]
    segment_counts: dict[str, pd.DataFrame]
    bottleneck: Bottleneck | None
    missing_steps: list[str]
    gap: StepGap | None = None

    @property
    def entered(self) -> int:
        return int(self.table["units"].iloc[0])

    @property
    def completed(self) -> int:
        return int(self.table["units"].iloc[-1])

    @property
    def overall_conversion(self) -> float:
        return float(self.table["overall_conversion"].iloc[-1])

    @property
    def previous_overall_conversion(self) -> float | None:
        if self.previous is None:
            return None
        return float(self.previous["overall_conversion"].iloc[-1])

    @property
    def previous_entered(self) -> int | None:
        return None if self.previous is None else int(self.previous["units"].iloc[0])

    def lowest_step(self) -> int | None:
        """Index (in ``table``) of the step with the lowest step conversion: where most of those
        who got this far stop; not the bottleneck, which is the step that got worse."""
        rest = self.table.iloc[1:].dropna(subset=["step_conversion"])
        return None if rest.empty else int(rest["step_conversion"].idxmin())

    def entry_channels(self) -> pd.Series | None:
        """Overall funnel conversion by the channel of the counted chain's entry (the channel
        breakdown's ``overall`` column, the figure its heatmap shows), highest first; ``None``
        without a channel breakdown or with fewer than two channels with units."""
        bt = self.breakdowns.get("channel")
        if bt is None:
            return None
        s = bt["overall"].dropna().sort_values(ascending=False, kind="stable")
        return s if len(s) > 1 else None


def analyse(
    src: DataSource,
    spec: FunnelSpec,
    start,
    end,
    compare: tuple | None = None,
    breakdowns: list[str] | tuple[str, ...] = (),
) -> FunnelResult:
    """The funnel of the period, by each breakdown, against the compare period (``compare``:
    start and end) if given, and its bottleneck, or without one the largest segment gap: every
    figure of the report's summary."""
    # the first breakdown read from the events rides along with the walk's (not read again)
    ride = next((by for by in breakdowns if by not in ("new_vs_returning",)), None)
    unit_steps(src, spec, start, end, ride)
    table = funnel(src, spec, start, end)
    seg = {by: counts(src, spec, start, end, by) for by in breakdowns}
    bts = {by: _conversion_by(spec, c) for by, c in seg.items()}
    previous = comparison = neck = gap = None
    if compare is not None:
        previous = funnel(src, spec, *compare)
        comparison = compare_periods(table, previous)
        neck = bottleneck(comparison, seg)
    else:
        gap = largest_gap(table, seg)
    return FunnelResult(
        spec=spec,
        table=table,
        previous=previous,
        comparison=comparison,
        breakdowns=bts,
        segment_counts=seg,
        bottleneck=neck,
        missing_steps=steps_without_events(src, spec, start, end),
        gap=gap,
    )


class Trends(NamedTuple):
    """Overall conversion over time by entry ``grain``: ``per_unit`` (:func:`trend`) and
    ``every_entry`` (:func:`entry_trend`), and the compare period's ``per_unit`` (``previous``,
    with its ``compare`` start and end; ``None`` without one). A first or last day or week that
    the period or the data holds only in part is the chart's to mark, not a figure here."""

    per_unit: pd.DataFrame
    every_entry: pd.DataFrame
    grain: Grain
    previous: pd.DataFrame | None = None
    compare: tuple | None = None


def trends(
    src: DataSource,
    spec: FunnelSpec,
    start,
    end,
    grain: Grain = "week",
    compare: tuple | None = None,
) -> Trends:
    """:class:`Trends` of the period, and the compare period's per-unit trend (``compare``: its
    start and end) for the chart's faded line."""
    previous = trend(src, spec, *compare, grain) if compare is not None else None
    return Trends(
        trend(src, spec, start, end, grain),
        entry_trend(src, spec, start, end, grain),
        grain,
        previous,
        tuple(compare) if compare is not None else None,
    )


def dropoff_units(src: DataSource, spec: FunnelSpec, start, end, step: str) -> pd.Series:
    """Ids of units that reached ``step`` but not the next step (for a CRM export; never shown
    in a report)."""
    i = spec.steps.index(step)
    us = unit_steps(src, spec, start, end)
    ids = src.execute(us.filter(us.steps_reached == i + 1).select("unit").order_by("unit"))
    return ids["unit"].rename(spec.unit_col)


def export_dropoff(src: DataSource, spec: FunnelSpec, start, end, step: str, path: str) -> int:
    """Write :func:`dropoff_units` to ``path`` (CSV, written whole then renamed); returns the count."""
    ids = dropoff_units(src, spec, start, end, step)
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{p.name}.tmp")
    ids.to_frame().to_csv(tmp, index=False)
    os.replace(tmp, p)
    return len(ids)
