"""The funnel walk, in the engine (Ibis expressions: DuckDB, Spark, a warehouse), never per unit in
Python. :func:`analysis_lib.analyses.funnel.unit_steps` is the entry point; this module builds its pieces.

Times: every event gets ``at``, its UTC instant in integer microseconds, and keeps ``event_ts``, its
wall-clock time in the shop's zone. Windows and the order of events use ``at`` (elapsed time is
real time across a daylight-saving change, and a window of 0.7 days is 60,480 s exactly); periods
and days use the wall clock. Events with the same instant count as in order.

A *chain* starts at an entry (a step-1 event in the period) and records the instant each step was
reached (``at1``..``atK``, null beyond its reach); ``reach`` is the number of steps reached. A unit's
chain is chosen among its chains: the furthest; among equally far ones, one without an excluded
event first, then the earliest entry (Amplitude's "earliest-longest"). A unit whose chosen chain
has an excluded event is removed from every step (as in PostHog).
"""

from __future__ import annotations

import re

import ibis
import ibis.expr.datatypes as dt

US = 1_000_000  # microseconds per second

_WINDOW_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_window(value) -> float:
    """A funnel's conversion window in seconds: a number of seconds, or text ``"30m"``, ``"36h"``,
    ``"7d"``, ``"90s"`` (a decimal number and a unit); exact (no rounding to whole seconds).
    Raises ``ValueError`` saying what is accepted. Here, not in params, because the window's syntax
    is the funnel's: params validate with it, and analyses may not import params; and here rather
    than in :mod:`.funnel` because this module imports only Ibis, so validating params does not
    import scipy and statsmodels (2 s) for a window."""
    if isinstance(value, bool):
        raise ValueError("must be seconds or text like '30m', '36h', '7d'")
    if isinstance(value, int | float):
        return float(value)
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd])\s*", str(value))
    if not m:
        raise ValueError(f"'{value}' is not a window: write seconds or e.g. '30m', '36h', '7d'")
    return float(m.group(1)) * _WINDOW_UNITS[m.group(2)]


@ibis.udf.scalar.builtin(name="epoch_us")
def _duckdb_epoch_us(ts: dt.Timestamp(timezone="UTC")) -> dt.int64:  # type: ignore[empty-body]
    """DuckDB's microseconds since the epoch of an instant."""


@ibis.udf.scalar.builtin(name="epoch_us")
def _duckdb_epoch_us_naive(ts: dt.Timestamp()) -> dt.int64:  # type: ignore[empty-body]
    """DuckDB's microseconds since the epoch of a time without a zone, read as UTC."""


def _session_zone(con) -> str:
    """A DuckDB connection's session time zone."""
    return con.raw_sql("SELECT current_setting('TimeZone')").fetchone()[0]


@ibis.udf.scalar.builtin(name="unix_micros")
def _spark_unix_micros(ts: dt.Timestamp()) -> dt.int64:  # type: ignore[empty-body]
    """Spark's microseconds since the epoch of an instant."""


def timed_events(src) -> ibis.Table:
    """``events`` as stored, with ``event_ts`` as the shop's wall-clock time (as
    :meth:`DataSource.table` gives it) and ``at``, the event's UTC instant in microseconds.

    The instant is read from the stored column, not from the wall clock, so that the hour repeated
    when clocks go back keeps its order: a zone-aware column is its own instant; a column without a
    zone holds the shop's wall-clock time, placed in the shop's zone (DuckDB's session zone; other
    backends run in UTC)."""
    src.table("events")  # checks the table and registers a folder's file under its name
    raw = src.con.table("events")
    ts = raw.event_ts
    typ = ts.type()
    backend = src.con.name
    if backend == "duckdb" and typ.timezone is None and _session_zone(src.con) == "UTC":
        at = _duckdb_epoch_us_naive(ts)  # UTC wall clock: no zone lookup per row (a third of
        # the time it takes to read the events)
    elif backend == "duckdb":
        at = _duckdb_epoch_us(ts.cast(dt.Timestamp(timezone="UTC")))
    elif backend == "pyspark":
        # a column without a zone reads as TIMESTAMP_NTZ, which unix_micros refuses; as a
        # TIMESTAMP in the session zone (UTC) it is the same instant
        at = _spark_unix_micros(ts.cast(dt.Timestamp(timezone="UTC")))
    else:  # backends that take only UTC: the wall clock is the instant
        at = ts.epoch_seconds().cast("int64") * US + ts.microsecond().cast("int64")
    wall = ts.cast(dt.Timestamp(scale=typ.scale)) if typ.timezone is not None else ts
    return raw.mutate(event_ts=wall, at=at.cast("int64"))


def _bit(x, c):
    """Whether bit ``c`` (an int or an integer column) of ``x`` is set."""
    return ((x >> c) & 1) == 1


def _run(x, k: int):
    """Number of consecutive set bits of ``x`` from bit 0 (at most ``k``)."""
    return ibis.cases(*[(~_bit(x, j), j) for j in range(k)], else_=k)


def _lowest(x, k: int):
    """Index of the lowest set bit of ``x`` (``k`` when none is set)."""
    return ibis.cases(*[(_bit(x, j), j) for j in range(k)], else_=k)


def entries(ev: ibis.Table, lo, hi, first: bool) -> ibis.Table:
    """``unit``, ``at1``, ``entry_ts``: the instants of step-1 events whose wall-clock time is in the
    period (several events at one instant are one entry); with ``first`` only each unit's first."""
    s1 = ev.filter((ev.code == 0) & (ev.event_ts >= lo) & (ev.event_ts < hi))
    e = s1.group_by("unit", at1=s1.at).aggregate(entry_ts=s1.event_ts.min())
    if first:
        w = ibis.window(group_by="unit", order_by="at1")
        e = e.mutate(rn=ibis.row_number().over(w)).filter(lambda t: t.rn == 0).drop("rn")
    return e


def _next_table(ev: ibis.Table, k: int) -> ibis.Table:
    """One row per unit and instant holding a step event: ``n{c}``, the first instant at or after
    it holding step ``c`` (``c`` = 1..k-1; same instant included)."""
    st = ev.filter((ev.code >= 0) & (ev.code < k))
    g = st.group_by("unit", "at").aggregate(**{f"h{c}": (st.code == c).any() for c in range(1, k)})
    w = ibis.window(group_by="unit", order_by="at", preceding=0, following=None)
    return g.select(
        "unit",
        "at",
        **{f"n{c}": ibis.cases((g[f"h{c}"], g.at)).min().over(w) for c in range(1, k)},
    )


def _ordered(ev, ent, k: int, win_us: int) -> ibis.Table:
    """Ordered: from the entry, each step at the first instant at or after the previous step."""
    nxt = _next_table(ev, k)
    n1 = nxt.select(unit_n=nxt.unit, at_n=nxt.at, v=nxt.n1)
    cur = ent.join(n1, (ent.unit == n1.unit_n) & (ent.at1 == n1.at_n))
    cur = cur.select(*ent.columns, at2=cur.v)
    for i in range(3, k + 1):
        nv = nxt.select(unit_n=nxt.unit, at_n=nxt.at, v=nxt[f"n{i - 1}"])
        j = cur.left_join(nv, (cur.unit == nv.unit_n) & (cur[f"at{i - 1}"] == nv.at_n))
        cur = j.select(*cur.columns, **{f"at{i}": j.v})
    deadline = cur.at1 + win_us
    ok = {i: cur[f"at{i}"].notnull() & (cur[f"at{i}"] <= deadline) for i in range(2, k + 1)}
    # instants never decrease along the chain: the steps within the window are a prefix
    return cur.mutate(
        reach=1 + sum(o.cast("int64") for o in ok.values()),
        **{f"at{i}": o.ifelse(cur[f"at{i}"], ibis.null("int64")) for i, o in ok.items()},
    )


def _any_order(ev, ent, k: int, win_us: int) -> ibis.Table:
    """Any order: step i is reached once steps 2..i have each happened in the window from the
    entry, in any order; its time is the latest of their first instants."""
    nxt = _next_table(ev, k)
    cur = ent.join(nxt, (ent.unit == nxt.unit) & (ent.at1 == nxt.at)).drop("at")
    deadline = cur.at1 + win_us
    cols, reach, done, latest = {}, ibis.literal(1, "int64"), ibis.literal(True), cur.at1
    for c in range(1, k):
        n = cur[f"n{c}"]
        done = done & n.notnull() & (n <= deadline)
        latest = ibis.greatest(latest, n)
        cols[f"at{c + 1}"] = done.ifelse(latest, ibis.null("int64"))
        reach = reach + done.cast("int64")
    return cur.select(*ent.columns, **cols, reach=reach)


def _strict(ev, ent_lo_hi, k: int, win_us: int, first: bool, cache) -> ibis.Table:
    """Strict: from the entry, every event of the unit must be the next step, nothing between.

    Events at one instant may be put in any order, so the walk goes instant by instant ("groups"):
    a group is *clean* when it holds exactly steps lo..hi once each and nothing else. A chain from an
    entry group consumes some of the steps 2.. that its own group holds (the others, and any other
    event there, are put before the entry), then clean groups that continue it exactly, then from
    the first group that does not, the steps that continue it (the rest put after them). Positions
    count events: a clean group holding steps lo..hi at positions p..p+hi-lo continues a chain
    whose step ``lo`` is due at ``p`` — they share the key ``p - lo``."""
    lo, hi = ent_lo_hi
    bits = sum(
        (ev.code == c).any().ifelse(ibis.literal(1 << c, "int64"), ibis.literal(0, "int64"))
        for c in range(k)
    )
    g = ev.group_by("unit", "at").aggregate(cnt=ev.count(), mask=bits, ts=ev.event_ts.min())
    wcum = ibis.window(group_by="unit", order_by="at", preceding=None, following=0)
    g = cache(g.mutate(pos=g.cnt.sum().over(wcum) - g.cnt))
    # entries: groups holding step 1 in the period; a = how many of steps 2.. consumed in the group
    e = g.filter(_bit(g.mask, 0) & (g.ts >= lo) & (g.ts < hi))
    if first:
        w = ibis.window(group_by="unit", order_by="at")
        e = e.mutate(rn=ibis.row_number().over(w)).filter(lambda t: t.rn == 0).drop("rn")
    e = e.mutate(run0=_run(e.mask >> 1, k - 1))
    # one candidate per a in 0..run0 (a union, not a literal table: Spark cannot see memtables
    # inside cached expressions)
    cand = ibis.union(*[e.filter(e.run0 >= a).mutate(a=ibis.literal(a, "int64")) for a in range(k)])
    cand = cand.select(
        unit=cand.unit,
        at1=cand.at,
        entry_ts=cand.ts,
        a=cand.a,
        r0=cand.a + 1,
        key=cand.pos + cand.cnt - cand.a - 1,
    )
    g = g.mutate(low=_lowest(g.mask, k))
    width = ibis.least(g.cnt, k + 1)
    is_clean = (g.mask != 0) & (g.mask == (((ibis.literal(1, "int64") << width) - 1) << g.low))
    clean = g.filter(is_clean)
    clean = clean.select(
        unit_c=clean.unit,
        at_c=clean.at,
        lo_c=clean.low,
        cnt_c=clean.cnt,
        key_c=clean.pos - clean.low,
    )
    ids = ["unit", "at1", "a"]
    j = cand.join(
        clean,
        (cand.unit == clean.unit_c)
        & (clean.key_c == cand.key)
        & (clean.lo_c >= cand.r0)
        & (clean.at_c <= cand.at1 + win_us),
    )
    # the clean groups that continue the chain without a gap: step lo due right after the last
    w = ibis.window(group_by=ids, order_by="lo_c", preceding=None, following=0)
    j = j.mutate(before=j.cnt_c.sum().over(w) - j.cnt_c)
    j = j.filter(j.lo_c == j.r0 + j.before)
    hi_c = j.lo_c + j.cnt_c - 1
    pieces = j.group_by(ids).aggregate(
        got=j.cnt_c.sum(),
        **{
            f"p{c}": ((j.lo_c <= c) & (hi_c >= c)).ifelse(j.at_c, ibis.null("int64")).min()
            for c in range(1, k)
        },
    )
    pieces = pieces.rename(unit_p="unit", at1_p="at1", a_p="a")
    cur = cand.left_join(
        pieces, (cand.unit == pieces.unit_p) & (cand.at1 == pieces.at1_p) & (cand.a == pieces.a_p)
    ).drop("unit_p", "at1_p", "a_p")
    cur = cur.mutate(r=cur.r0 + cur.got.fill_null(0))
    # the first group that does not continue it exactly: the steps it holds that come next
    f = g.select(unit_f=g.unit, at_f=g.at, pos_f=g.pos, mask_f=g.mask)
    cur = cur.left_join(
        f,
        (cur.unit == f.unit_f) & (f.pos_f == cur.key + cur.r) & (f.at_f <= cur.at1 + win_us),
    )
    extra = cur.mask_f.isnull().ifelse(0, _run(cur.mask_f >> cur.r, k))
    cur = cur.mutate(extra=extra)
    times = {}
    for c in range(1, k):
        times[f"at{c + 1}"] = ibis.cases(
            (cur.r0 > c, cur.at1),
            (cur.r > c, cur[f"p{c}"]),
            (cur.r + cur.extra > c, cur.at_f),
            else_=ibis.null("int64"),
        )
    return cur.select("unit", "at1", "entry_ts", "a", reach=cur.r + cur.extra, **times)


def candidates(ev: ibis.Table, spec, lo, hi, win_us: int, cache=None) -> ibis.Table:
    """Every chain a unit could be counted by: ``unit``, ``at1`` (the entry instant), ``entry_ts``
    (its wall-clock time), ``a`` (strict mode: steps consumed at the entry instant), ``reach`` and
    ``at2``..``atK``. ``cache``: how an intermediate table is kept in the engine (a counted
    ``DataSource.cache``; Ibis's own by default)."""
    k = len(spec.steps)
    first = spec.entry == "first"
    if spec.mode == "strict":
        return _strict(ev, (lo, hi), k, win_us, first, cache or (lambda t: t.cache()))
    ent = entries(ev, lo, hi, first)
    walk = _ordered if spec.mode == "ordered" else _any_order
    return walk(ev, ent, k, win_us).mutate(a=ibis.literal(0, "int64"))


def choose(
    cands: ibis.Table, rules: list[tuple[int, int, int]], xev, keys: list[str], win_us: int
) -> ibis.Table:
    """The chain counted for each ``keys`` group (a unit, or a unit and an entry day): the furthest;
    among equally far ones one without an excluded event first, then the earliest entry. Groups
    whose chosen chain has an excluded event are dropped (removed from every step).

    ``rules``: (exclusion code, from step, to step), steps 0-based; an exclusion event counts when
    it comes after the chain reached the from step and before it reached the to step (or, when it
    never did, within the window from the entry); events at the same instant as either step do not
    count (they are in order). ``xev``: ``unit``, ``x`` (exclusion code), ``e`` (instant)."""
    w = ibis.window(group_by=keys)
    top = cands.mutate(best=cands.reach.max().over(w))
    top = top.filter(top.reach == top.best).drop("best")
    ids = ["unit", "at1", "a"]
    if rules:
        x = xev.select(unit_x=xev.unit, x=xev.x, e=xev.e)
        j = top.join(x, top.unit == x.unit_x)
        hit = ibis.literal(False)
        for code, f, t in rules:
            t_from, t_to = j[f"at{f + 1}"], j[f"at{t + 1}"]
            end_ok = t_to.notnull().ifelse(j.e < t_to, j.e <= j.at1 + win_us)
            hit = hit | ((j.x == code) & t_from.notnull() & (j.e > t_from) & end_ok)
        bad = j.filter(hit).select(*ids).distinct()
        bad = bad.select(unit_b=bad.unit, at1_b=bad.at1, a_b=bad.a, excluded=ibis.literal(1))
        top = top.left_join(
            bad, (top.unit == bad.unit_b) & (top.at1 == bad.at1_b) & (top.a == bad.a_b)
        )
        top = top.drop("unit_b", "at1_b", "a_b").mutate(excluded=lambda t: t.excluded.fill_null(0))
    else:
        top = top.mutate(excluded=ibis.literal(0))
    w2 = ibis.window(group_by=keys, order_by=["excluded", "at1", ibis.desc("a")])
    top = top.mutate(rn=ibis.row_number().over(w2))
    return top.filter((top.rn == 0) & (top.excluded == 0)).drop("rn", "excluded")


def _first_chain(ev: ibis.Table, s1: ibis.Table, k: int, win_us: int) -> ibis.Table:
    """Ordered mode from each unit's first entry: the greedy chain, one hash join and aggregate
    per step over that step's events only (units that reached the step before), no sort."""
    ent = s1.group_by("unit").aggregate(at1=s1.at.min(), entry_ts=s1.event_ts.argmin(s1.at))
    prev = ent.select("unit", "at1", t=ent.at1)
    levels = []
    for i in range(2, k + 1):
        st = ev.filter(ev.code == i - 1)
        st = st.select(unit_s=st.unit, t_s=st.at)
        j = prev.join(
            st,
            (prev.unit == st.unit_s) & (st.t_s >= prev.t) & (st.t_s <= prev.at1 + win_us),
        )
        prev = j.group_by("unit", "at1").aggregate(t=j.t_s.min())
        levels.append(prev.select("unit", "t", lvl=ibis.literal(i, "int8")))
    # the steps reached, one row per unit that reached step 2: one join onto the entries
    got = ibis.union(*levels)
    got = got.group_by(unit_i=got.unit).aggregate(
        **{f"at{i}": ibis.cases((got.lvl == i, got.t)).min() for i in range(2, k + 1)}
    )
    out = ent.left_join(got, ent.unit == got.unit_i).drop("unit_i")
    reach = 1 + sum(out[f"at{i}"].notnull().cast("int64") for i in range(2, k + 1))
    return out.mutate(reach=reach)


def _any_chain(
    ev: ibis.Table, s1: ibis.Table, k: int, win_us: int, keys=("unit",), ride=None
) -> ibis.Table:
    """Ordered mode from every entry, without walking each chain (ClickHouse's ``windowFunnel``
    recurrence, one join per step: no sort, no window).

    ``L`` of a step-i event is the latest entry with a chain to it (steps 2..i at or after one
    another, same instant in order): the maximum ``L`` of the step-(i-1) events kept at or before
    it (an entry's ``L`` is its instant); an event is kept when ``L`` is within the window before
    it (an earlier entry's chain to it cannot be in its window either), so only the previous
    step's events in the window before it can give it one: a hash join per unit on that band,
    then the maximum per event (a unit's events at one instant are one row). The furthest step R
    is the last with an event kept; the earliest entry reaching it is the first entry at or after
    ``x`` = (first such event) - window, since every entry between ``x`` and that event's ``L``
    reaches it (and none after that event). That entry's chain (greedy: each step at its first
    instant at or after the previous one) reaches step i at the first step-i event kept with
    ``L >= x``.

    ``keys``: the columns of ``s1`` and ``ev`` a walk is per (a unit; a unit and an entry day for
    the every-entry trend: ``ev`` then holds each step event once per key it may serve). ``ride``:
    a column of ``s1`` that comes out with the counted entry (a breakdown read with the events;
    the smallest where several entries share the instant)."""
    keys = list(keys)
    prev = s1.select(*keys, "at", L=s1.at)
    kept = []
    for i in range(2, k + 1):
        st = ev.filter(ev.code == i - 1).select(*keys, "at")
        p = prev.rename(**{f"{c}_p": c for c in keys}, at_p="at", L_p="L")
        j = st.join(
            p,
            [*(st[c] == p[f"{c}_p"] for c in keys), p.at_p <= st.at, p.L_p >= st.at - win_us],
        )
        prev = j.group_by(*keys, "at").aggregate(L=j.L_p.max())
        kept.append(prev.mutate(lvl=ibis.literal(i, "int8")))
    small = ibis.union(*kept)
    first = {i: ibis.cases((small.lvl == i, small.at)).min() for i in range(2, k + 1)}
    g = small.group_by(keys).aggregate(**{f"f{i}": f for i, f in first.items()})
    far = range(k, 1, -1)
    g = g.select(
        **{f"{c}_g": g[c] for c in keys},
        R=ibis.cases(*[(g[f"f{i}"].notnull(), i) for i in far]).cast("int64"),
        x=ibis.coalesce(*[g[f"f{i}"] for i in far]) - win_us,
    )
    # the step times per unit carry R and x (each expression used once: a shared subquery is
    # inlined, so computed twice), and the entries pick theirs up with them
    on = [small[c] == g[f"{c}_g"] for c in keys]
    t = small.join(g, [*on, g.x <= small.L])
    steps = [f"at{i}" for i in range(2, k + 1)]
    times = t.group_by(**{f"{c}_t": t[c] for c in keys}).aggregate(
        R=t.R.max(),
        x=t.x.max(),
        **{s: ibis.cases((t.lvl == i, t.at)).min() for i, s in enumerate(steps, start=2)},
    )
    # the counted entry: the first at or after x (none after x + window can reach R), or the
    # first entry of a unit that reached no step 2; one aggregate picks its instant, wall clock
    # and ride (the smallest non-null at that instant) together
    j = s1.left_join(times, [s1[c] == times[f"{c}_t"] for c in keys])
    j = j.filter(j.x.isnull() | ((j.at >= j.x) & (j.at <= j.x + win_us)))
    first_key = {"a": j.at}
    if ride is not None:
        first_key |= {"n": j[ride].isnull(), "b": j[ride]}
    pick = ibis.struct(first_key | {"c": j.event_ts}).min()
    out = j.group_by(keys).aggregate(
        m=pick, reach=j.R.max().fill_null(1), **{s: j[s].max() for s in steps}
    )
    return out.select(
        *keys,
        at1=out.m["a"],
        entry_ts=out.m["c"],
        **{s: out[s] for s in steps},
        reach=out.reach,
        **({ride: out.m["b"]} if ride is not None else {}),
    )


def entry_day_walk(ev: ibis.Table, lo, hi, k: int, win_us: int, unit: str) -> ibis.Table:
    """The every-entry trend's walk in ordered mode without exclusions: per unit and entry day or
    week (``bucket``, a wall-clock truncation ``unit`` of the entry), the furthest chain from that
    bucket's entries, the earliest among equally far (``bucket``, ``reach``), without a table of
    every chain: :func:`_any_chain` per (unit, bucket), each step event once per bucket of its
    unit whose entries it may serve (from the bucket's first entry to its last plus the window)."""
    s1 = ev.filter((ev.code == 0) & (ev.event_ts >= lo) & (ev.event_ts < hi))
    s1 = s1.mutate(bucket=s1.event_ts.truncate(unit))
    span = s1.group_by(unit_b="unit", bucket="bucket").aggregate(a=s1.at.min(), b=s1.at.max())
    st = ev.filter((ev.code > 0) & (ev.code < k))
    st = st.join(
        span, (st.unit == span.unit_b) & (st.at >= span.a) & (st.at <= span.b + win_us)
    ).select("unit", "bucket", "at", "code")
    out = _any_chain(st, s1, k, win_us, keys=("unit", "bucket"))
    return out.select("unit", "bucket", "reach")


def ordered_walk(
    ev: ibis.Table, lo, hi, k: int, win_us: int, first: bool, ride: str | None = None
) -> ibis.Table:
    """The counted chain of each unit in ordered mode without exclusions, straight from the
    events (no table of every chain): ``unit``, ``at1`` (entry instant), ``entry_ts``,
    ``at2``..``atK`` and ``reach``; the same chain :func:`candidates` then :func:`choose` give.
    ``ride``: a column of ``ev`` that comes out with the counted entry (entry ``any`` only)."""
    s1 = ev.filter((ev.code == 0) & (ev.event_ts >= lo) & (ev.event_ts < hi))
    if first:
        return _first_chain(ev, s1, k, win_us)
    return _any_chain(ev, s1, k, win_us, ride=ride)
