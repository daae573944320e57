"""Unit-level tables for A/B analysis, as Ibis expressions (nothing leaves the engine here).

Two inputs:
(a) the shop's own data: ``assignments`` of one experiment joined with valid ``orders``; per unit,
    over its exposure window ``[assigned_ts, period end]``: ``converted`` (0/1), ``orders``,
    ``revenue``; over the ``pre_days`` before assignment: ``pre_orders``, ``pre_revenue``,
    ``pre_converted`` (covariates for CUPED); ``channel`` and ``new_vs_returning`` from ``users``
    for segments; ``day`` of assignment for the cumulative view.
(b) a unit-level table of the data source: one row per unit, a variant column, metric columns.

Both return a table with a ``variant`` column (string) plus metric and segment columns.
"""

from __future__ import annotations

import datetime as _dt
import functools
import weakref
from typing import NamedTuple

import ibis
import ibis.expr.operations as ops
import sqlglot as sg
import sqlglot.expressions as sge

from analysis_lib.core import metrics as M
from analysis_lib.core.data import DataSource, as_date_bounds
from analysis_lib.errors import DataError

SHOP_METRICS = ["converted", "orders", "revenue", "pre_converted", "pre_orders", "pre_revenue"]
# columns that hold amounts of money (GMV of valid orders): a report shows them in the currency
MONEY_COLUMNS = frozenset({"revenue", "pre_revenue"})


def from_assignments(
    src: DataSource, experiment_id: str, start: _dt.date, end: _dt.date, pre_days: int = 28
) -> tuple[ibis.Table, dict]:
    """(a): per-unit metrics of ``experiment_id`` for units assigned in ``[start, end]``. Units
    assigned to more than one variant are left out; the statistics' statement counts them
    (:func:`analysis_lib.analyses.abtest.sufficient_stats`: ``attrs["units_in_several_variants"]``,
    the notes say None) and raises :class:`DataError` when no unit is left.

    Nothing runs here: the table is lazy. Its columns from ``users`` (segments) cost a join a
    statement needs only when it reads them (:func:`lean` gives the table without it), and a
    sum over the units needs only those with an order (:func:`sparse`). Built once per source
    and arguments (``src.memo``): a second call gives the same table, whose statements the
    source has compiled already."""
    key = ("abtest_units.from_assignments", experiment_id, start, end, pre_days)
    if key not in src.memo:
        src.memo[key] = _from_assignments(src, experiment_id, start, end, pre_days)
    return src.memo[key], {"units_in_several_variants": None}


def _from_assignments(
    src: DataSource, experiment_id: str, start: _dt.date, end: _dt.date, pre_days: int
) -> ibis.Table:
    a = asg = src.table("assignments")
    lo, hi = as_date_bounds(start, end)
    since = lo - _dt.timedelta(days=pre_days)
    a = a.filter(a.experiment_id == experiment_id, a.assigned_ts >= lo, a.assigned_ts < hi)
    a = a.select("unit_id", "variant", "assigned_ts")
    o = orders = src.table("orders")
    o = M.valid_orders(o)
    o = o.filter(o.order_ts >= since, o.order_ts < hi)
    o = o.select(uid=o.user_id, order_ts=o.order_ts, gmv=o.gmv)
    empty = (
        f"{src.where('assignments')}: no units of experiment '{experiment_id}' assigned between "
        f"{start} and {end}"
    )
    users = _users(src)
    parts = _Parts(a, o, pre_days, lo, users, empty)
    parts.inputs = _Inputs(asg, experiment_id, lo, hi, orders, since)
    u = parts.u
    j = u.left_join(o, (u.unit_id == o.uid) & (o.order_ts >= u.assigned_ts - parts.pre))
    in_win = j.order_ts >= j.assigned_ts
    in_pre = j.order_ts < j.assigned_ts
    agg = j.group_by([j.unit_id, j.variant, j.assigned_ts]).aggregate(
        orders=in_win.ifelse(1, 0).sum().coalesce(0),
        revenue=in_win.ifelse(j.gmv, 0).sum().coalesce(0),
        pre_orders=in_pre.ifelse(1, 0).sum().coalesce(0),
        pre_revenue=in_pre.ifelse(j.gmv, 0).sum().coalesce(0),
    )
    parts.lean = units = agg.mutate(
        converted=(agg.orders > 0).cast("int64"),
        pre_converted=(agg.pre_orders > 0).cast("int64"),
        day=agg.assigned_ts.truncate("D"),
        variant=agg.variant.cast("string"),
    )
    if users is not None:
        units = _with_users(users, units, lo)
    _PARTS[units] = parts
    return units


def _users(src: DataSource) -> ibis.Table | None:
    """The users' segments by ``uid``: ``signup_ts`` and ``channel`` (when the users table has
    one); None without a users table."""
    if not src.has("users"):
        return None
    users = src.table("users")
    cols = {"signup_ts": users.signup_ts}
    if "channel" in users.columns:
        cols["channel"] = users.channel
    return users.select(uid=users.user_id, **cols)


def _with_users(users: ibis.Table, t: ibis.Table, lo) -> ibis.Table:
    """``t`` (a ``unit_id`` column) with the users' segments (:func:`_users`): ``channel`` and
    ``new_vs_returning`` (signed up before the period or not)."""
    k = t.left_join(users, t.unit_id == users.uid)
    seg = [c for c in users.columns if c not in ("uid", "signup_ts")]
    new = (k.signup_ts >= lo).ifelse("new", "returning")
    return k.select(*t.columns, *seg, new_vs_returning=new)


class _Inputs(NamedTuple):
    """What ``a`` and ``o`` of :class:`_Parts` read: the ``assignments`` of ``experiment_id``
    assigned in ``[lo, hi)``, the valid ``orders`` placed in ``[since, hi)``."""

    assignments: ibis.Table
    experiment_id: str
    lo: _dt.datetime
    hi: _dt.datetime
    orders: ibis.Table
    since: _dt.datetime


class _Parts:
    """The parts of a unit table of :func:`from_assignments`, each built when first read (a
    statement that needs none of them pays nothing for them):

    - ``a``: the experiment's assignments in the period (``unit_id``, ``variant``,
      ``assigned_ts``); ``o``: valid orders from ``pre_days`` before the period to its end
      (``uid``, ``order_ts``, ``gmv``); ``u``: per unit, its least and greatest variant
      (``variant``, ``last_variant``: the same for a unit in one variant) and first assignment;
    - ``lean``: the unit table without the users join; ``counts``: one row, ``units`` (in one
      variant) and ``mixed`` (in several);
    - ``base``: every unit: ``unit_id``, ``variant``, ``day``, ``__one``, ``__mixed`` (1 for a
      unit in one variant / in several); ``base_users``: the same with the users' segments;
    - ``bought``: the units with an order in their window or pre-period: keys and metrics
      (``bought_id`` their unit);
    - ``empty``: the message when no unit is left."""

    def __init__(self, a, o, pre_days: int, lo, users, empty: str) -> None:
        self.a, self.o, self.pre_days, self.lo = a, o, pre_days, lo
        self.users, self.empty = users, empty
        self.pre = ibis.interval(days=pre_days)
        self.lean: ibis.Table | None = None
        self.inputs: _Inputs | None = None

    @functools.cached_property
    def per_unit(self) -> ibis.Table:
        a = self.a
        return a.group_by("unit_id").aggregate(
            variant=a.variant.min(), last_variant=a.variant.max(), assigned_ts=a.assigned_ts.min()
        )

    @functools.cached_property
    def u(self) -> ibis.Table:
        # one variant: the least and the greatest are the same (cheaper than counting them)
        p = self.per_unit
        return p.filter(p.variant == p.last_variant).drop("last_variant")

    @functools.cached_property
    def counts(self) -> ibis.Table:
        p = self.per_unit
        one, several = p.variant == p.last_variant, p.variant != p.last_variant
        return p.aggregate(
            mixed=several.ifelse(1, 0).sum().coalesce(0), units=one.ifelse(1, 0).sum().coalesce(0)
        )

    @functools.cached_property
    def base(self) -> ibis.Table:
        p = self.per_unit
        return p.select(
            "unit_id",
            variant=p.variant.cast("string"),
            day=p.assigned_ts.truncate("D"),
            __one=(p.variant == p.last_variant).ifelse(1, 0),
            __mixed=(p.variant != p.last_variant).ifelse(1, 0),
        )

    @functools.cached_property
    def base_users(self) -> ibis.Table:
        return self.base if self.users is None else _with_users(self.users, self.base, self.lo)

    @functools.cached_property
    def bought(self) -> ibis.Table:
        u, o = self.u, self.o
        jb = u.join(o, (u.unit_id == o.uid) & (o.order_ts >= u.assigned_ts - self.pre))
        w = jb.order_ts >= jb.assigned_ts
        bought = jb.group_by(
            bought_id=jb.unit_id, variant=jb.variant, assigned_ts=jb.assigned_ts
        ).aggregate(
            orders=w.ifelse(1, 0).sum(),
            revenue=w.ifelse(jb.gmv, 0).sum().coalesce(0),
            pre_orders=w.ifelse(0, 1).sum(),
            pre_revenue=w.ifelse(0, jb.gmv).sum().coalesce(0),
        )
        return bought.mutate(
            variant=bought.variant.cast("string"),
            day=bought.assigned_ts.truncate("D"),
            converted=(bought.orders > 0).cast("int64"),
            pre_converted=(bought.pre_orders > 0).cast("int64"),
        )


# a unit table of from_assignments -> its parts (weak: gone with the table)
_PARTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def lean(units: ibis.Table, columns) -> ibis.Table:
    """The cheapest table with the rows of ``units`` that holds ``columns``: for a table of
    :func:`from_assignments`, the units before the join to ``users`` when no column of it is
    needed (an engine cannot drop that join itself: it does not know ``users.user_id`` is
    unique), else ``units`` itself."""
    parts = _PARTS.get(units)
    ok = parts is not None and set(columns) <= set(parts.lean.columns)
    return parts.lean if ok else units


def parts(units: ibis.Table) -> _Parts | None:
    """The parts of a table of :func:`from_assignments` (None for any other table)."""
    return _PARTS.get(units)


def sparse(units: ibis.Table, keys, columns) -> tuple[ibis.Table, ibis.Table] | None:
    """For a table of :func:`from_assignments` grouped by ``keys`` and reading ``columns``: every
    unit with its keys and ``__one``/``__mixed`` (1 for a unit in one variant / in several), and
    the units with an order with their keys and ``columns`` (every other unit reads 0 in each
    of them); None for any other table. A sum then needs only the second (a few percent of the
    units), a count only the first."""
    parts = _PARTS.get(units)
    if parts is None or not set(columns) <= set(SHOP_METRICS):
        return None
    b = parts.bought
    flags = ["__one", "__mixed"]
    if set(keys) <= set(b.columns):  # variant, day: the units with an order know them
        return parts.base.select(*keys, *flags), b.select(*keys, *columns)
    base = parts.base_users
    if not set(keys) <= set(base.columns):
        return None
    seg = base.select(sid=base.unit_id, **{k: base[k] for k in keys if k not in b.columns})
    j = b.join(seg, b.bought_id == seg.sid)
    return base.select(*keys, *flags), j.select(*keys, *columns)


# the unit table's metrics as sums over a unit's joined orders: the value an order adds when in
# the unit's window and when in its pre-period ("gmv": its amount); 0/1 metrics from those sums
_SUMS = {
    "orders": (1, 0),
    "revenue": ("gmv", 0),
    "pre_orders": (0, 1),
    "pre_revenue": (0, "gmv"),
}
_OF_SUM = {"converted": "orders", "pre_converted": "pre_orders"}


def sparse_sql(units: ibis.Table, keys, columns):
    """:func:`sparse` as SQL built directly (sqlglot expressions for the backend's dialect; Ibis
    compiles only the two filtered inputs, whose tables it knows): ``(ctes, every, bought,
    backend)``, ``ctes`` the named selects that ``every`` and ``bought`` read (each input
    scanned once), ``every`` every unit's ``keys``, ``__one`` and ``__mixed``, ``bought`` the
    units with an order, their ``keys`` and ``columns`` (none null: a unit's amounts read 0
    when it has none, as in the unit table). None for any other table or keys other than
    ``variant`` and ``day``. Building it costs a few milliseconds where Ibis's expressions and
    compiler cost tens (issue 20). Each node is built where it is used: the trees share none,
    so they are written without a copy."""
    parts = _PARTS.get(units)
    if (
        parts is None
        or not set(columns) <= set(SHOP_METRICS)
        or not set(keys) <= {"variant", "day"}
    ):
        return None
    backend = parts.a.get_backend()
    compiler = backend.compiler
    text_variant = parts.a.schema()["variant"].is_string()

    def col(name, table=None):
        return sg.column(name, table=table, quoted=True)

    def alias(e, name):
        return sge.alias_(e, name, quoted=True, copy=False)

    def tab(name, alias):
        return sge.Table(
            this=sg.to_identifier(name, quoted=True),
            alias=sge.TableAlias(this=sg.to_identifier(alias, quoted=True)),
        )

    def in_window():  # the order (o) is in the unit's (u) window, else in its pre-period
        return sge.GTE(this=col("order_ts", "o"), expression=col("ts", "u"))

    def case(cond, yes, no):
        yes, no = (col("gmv", "o") if v == "gmv" else sge.convert(v) for v in (yes, no))
        return sge.Case().when(cond, yes, copy=False).else_(no, copy=False)

    def key_exprs(table):
        out = []
        for k in keys:
            if k == "variant":
                e = col("variant", table)
                if not text_variant:
                    e = sge.Cast(this=e, to=sge.DataType(this=sge.DataType.Type.TEXT))
            else:
                e = sge.TimestampTrunc(this=col("ts", table), unit=sge.var("DAY"))
            out.append(alias(e, k))
        return out

    a, o, u, b = "_ab_a", "_ab_o", "_ab_u", "_ab_b"
    per_unit = (
        sg.select(
            col("unit_id"),
            alias(sge.Min(this=col("variant")), "variant"),
            alias(sge.Max(this=col("variant")), "v2"),
            alias(sge.Min(this=col("assigned_ts")), "ts"),
            copy=False,
        )
        .from_(tab(a, "a"), copy=False)
        .group_by(col("unit_id"), copy=False)
    )
    need = {_OF_SUM.get(c, c) for c in columns}
    sums = [
        alias(
            sge.Coalesce(
                this=sge.Sum(this=case(in_window(), *_SUMS[n])), expressions=[sge.convert(0)]
            ),
            n,
        )
        for n in _SUMS
        if n in need
    ]
    since = sge.Sub(
        this=col("ts", "u"),
        expression=sge.Interval(this=sge.convert(str(parts.pre_days)), unit=sge.var("DAY")),
    )
    joined = sge.and_(
        sge.EQ(this=col("uid", "o"), expression=col("unit_id", "u")),
        sge.GTE(this=col("order_ts", "o"), expression=since),
        copy=False,
    )
    per_bought = (
        sg.select(col("variant", "u"), col("ts", "u"), *sums, copy=False)
        .from_(tab(u, "u"), copy=False)
        .join(sge.Join(this=tab(o, "o"), on=joined, kind="INNER"), copy=False)
        .where(sge.EQ(this=col("variant", "u"), expression=col("v2", "u")), copy=False)
        .group_by(col("unit_id", "u"), col("variant", "u"), col("ts", "u"), copy=False)
    )

    def value(c):
        if c in _OF_SUM:
            return case(sge.GT(this=col(_OF_SUM[c], "b"), expression=sge.convert(0)), 1, 0)
        return col(c, "b")

    def one(test):
        return case(test(this=col("variant", "e"), expression=col("v2", "e")), 1, 0)

    every = sg.select(
        *key_exprs("e"),
        alias(one(sge.EQ), "__one"),
        alias(one(sge.NEQ), "__mixed"),
        copy=False,
    ).from_(tab(u, "e"), copy=False)
    bought = sg.select(*key_exprs("b"), *(alias(value(c), c) for c in columns), copy=False).from_(
        tab(b, "b"), copy=False
    )
    ctes = [
        *_inputs_sql(parts.inputs, compiler, (a, o)),
        (u, per_unit),
        (b, per_bought),
    ]
    return ctes, every, bought, backend


def _inputs_sql(inputs: _Inputs, compiler, names) -> list:
    """``a`` and ``o`` of :class:`_Parts` as named selects: the tables as Ibis compiles them (a
    source's views, casts and mappings), the filters and literals written here (Ibis's literals
    for the backend)."""

    def lit(value, dtype):
        return compiler.visit_Literal(ops.Literal(value, dtype), value=value, dtype=dtype)

    def col(name):
        return sg.column(name, quoted=True)

    def cmp(test, name, value, schema):
        return test(this=col(name), expression=lit(value, schema[name]))

    def source(t, name, columns, *where):
        sub = compiler.to_sqlglot(t).subquery(sg.to_identifier(name, quoted=True), copy=False)
        select = sg.select(*columns, copy=False).from_(sub, copy=False)
        return select.where(sge.and_(*where, copy=False), copy=False)

    i = inputs
    sa, so = i.assignments.schema(), i.orders.schema()
    statuses = [lit(v, so["status"]) for v in M.VALID_STATUSES]
    a = source(
        i.assignments,
        "t",
        [col("unit_id"), col("variant"), col("assigned_ts")],
        cmp(sge.EQ, "experiment_id", i.experiment_id, sa),
        cmp(sge.GTE, "assigned_ts", i.lo, sa),
        cmp(sge.LT, "assigned_ts", i.hi, sa),
    )
    o = source(
        i.orders,
        "t",
        [sge.alias_(col("user_id"), "uid", quoted=True), col("order_ts"), col("gmv")],
        sge.In(this=col("status"), expressions=statuses),
        cmp(sge.GTE, "order_ts", i.since, so),
        cmp(sge.LT, "order_ts", i.hi, so),
    )
    return list(zip(names, (a, o), strict=True))


def from_unit_table(
    src: DataSource, table: str, variant_column: str, columns: list[str]
) -> ibis.Table:
    """(b): a unit-level table named in params, its variant column renamed ``variant``; each
    metric column must be numeric or boolean (booleans count as 0/1)."""
    t = src.table(table)
    schema = t.schema()
    if variant_column not in schema:
        raise DataError(
            f"{src.where(table)}: table '{table}' has no variant column '{variant_column}'"
        )
    for c in columns:
        if c not in schema:
            raise DataError(f"{src.where(table)}: table '{table}' has no metric column '{c}'")
        if not (schema[c].is_numeric() or schema[c].is_boolean()):
            raise DataError(
                f"{src.where(table)}: metric column '{table}.{c}' is {schema[c]}, not numeric"
            )
    cols = {c: t[c].cast("float64") for c in columns}
    rest = [c for c in t.columns if c not in cols and c != variant_column]
    return t.select(*rest, variant=t[variant_column].cast("string"), **cols)


def load(
    src: DataSource,
    start: _dt.date,
    end: _dt.date,
    *,
    experiment_id: str | None = None,
    table: str | None = None,
    variant_column: str = "variant",
    columns: list[str] | None = None,
    pre_days: int = 28,
) -> tuple[ibis.Table, dict]:
    """The units of a test and the notes on them: (a) the shop's assignments of
    ``experiment_id`` (:func:`from_assignments`), else (b) the unit ``table`` with its
    ``variant_column`` and metric ``columns`` (:func:`from_unit_table`; no notes)."""
    if experiment_id is not None:
        return from_assignments(src, experiment_id, start, end, pre_days)
    if table is None:
        raise ValueError("give experiment_id or a unit table")
    return from_unit_table(src, table, variant_column, list(columns or [])), {}
