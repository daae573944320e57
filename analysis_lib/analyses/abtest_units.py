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
import ibis.expr.datatypes as dt
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

    Nothing runs here: the table is lazy, SQL written for the backend (:func:`_units_sql`).
    Its columns from ``users`` (segments) cost a join a
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
    lo, hi = as_date_bounds(start, end)
    since = lo - _dt.timedelta(days=pre_days)
    users = src.table("users") if src.has("users") else None
    inputs = _Inputs(src.table("assignments"), experiment_id, lo, hi, src.table("orders"), since)
    empty = (
        f"{src.where('assignments')}: no units of experiment '{experiment_id}' assigned between "
        f"{start} and {end}"
    )
    parts = _Parts(inputs, pre_days, users, empty)
    units = _units_sql(parts, users)
    if users is None:
        parts.lean = units
    _PARTS[units] = parts
    return units


def _col(name, table=None):
    return sg.column(name, table=table, quoted=True)


def _alias(e, name):
    return sge.alias_(e, name, quoted=True, copy=False)


def _tab(name, alias):
    return sge.Table(
        this=sg.to_identifier(name, quoted=True),
        alias=sge.TableAlias(this=sg.to_identifier(alias, quoted=True)),
    )


def _orders_of_unit(pre_days: int):
    """The join of a unit (``u``) to its orders (``o``): its id, from the start of its
    pre-period (``pre_days`` before its assignment) on."""
    since = sge.Sub(
        this=_col("ts", "u"),
        expression=sge.Interval(this=sge.convert(str(pre_days)), unit=sge.var("DAY")),
    )
    return sge.and_(
        sge.EQ(this=_col("uid", "o"), expression=_col("unit_id", "u")),
        sge.GTE(this=_col("order_ts", "o"), expression=since),
        copy=False,
    )


def _units_sql(parts: _Parts, users: ibis.Table | None) -> ibis.Table:
    """The unit table (:func:`from_assignments`) as SQL written for the backend (sqlglot) with
    its schema, an Ibis table built in a millisecond or two where Ibis's own expressions take
    several: one row per unit in one variant, its metrics over its window and pre-period from
    its valid orders (left join: a unit without one reads 0), with the users' segments when
    ``users`` is given (left join on ``user_id``: ``channel`` when the table has one,
    ``new_vs_returning`` by ``signup_ts`` against the period's start)."""
    i = parts.inputs
    backend = i.assignments.get_backend()
    compiler = backend.compiler
    sa = i.assignments.schema()
    gmv = ibis.table({"gmv": i.orders.schema()["gmv"], "w": "boolean"}, name="t")
    money = gmv.w.ifelse(gmv.gmv, 0).sum().coalesce(0).type()  # as Ibis types the sums
    schema = {
        "unit_id": sa["unit_id"],
        "variant": dt.string,
        "assigned_ts": sa["assigned_ts"],
        "orders": dt.int64,
        "revenue": money,
        "pre_orders": dt.int64,
        "pre_revenue": money,
        "converted": dt.int64,
        "pre_converted": dt.int64,
        "day": sa["assigned_ts"],
    }

    def cast(e, name):
        return sge.Cast(this=e, to=compiler.type_mapper.from_ibis(schema[name]))

    def total(test, yes):  # over the unit's joined orders (none: 0)
        when = test(this=_col("order_ts", "o"), expression=_col("ts", "u"))
        value = _col("gmv", "o") if yes == "gmv" else sge.convert(yes)
        case = sge.Case().when(when, value, copy=False).else_(sge.convert(0), copy=False)
        return sge.Coalesce(this=sge.Sum(this=case), expressions=[sge.convert(0)])

    joined = _orders_of_unit(parts.pre_days)
    variant = _col("variant", "u")
    if not sa["variant"].is_string():
        variant = cast(variant, "variant")
    per_unit = [
        _col("unit_id", "u"),
        _alias(variant, "variant"),
        _alias(_col("ts", "u"), "assigned_ts"),
        _alias(cast(total(sge.GTE, 1), "orders"), "orders"),
        _alias(cast(total(sge.GTE, "gmv"), "revenue"), "revenue"),
        _alias(cast(total(sge.LT, 1), "pre_orders"), "pre_orders"),
        _alias(cast(total(sge.LT, "gmv"), "pre_revenue"), "pre_revenue"),
        _alias(
            cast(sge.GT(this=total(sge.GTE, 1), expression=sge.convert(0)), "converted"),
            "converted",
        ),
        _alias(
            cast(sge.GT(this=total(sge.LT, 1), expression=sge.convert(0)), "pre_converted"),
            "pre_converted",
        ),
        _alias(sge.TimestampTrunc(this=_col("ts", "u"), unit=sge.var("DAY")), "day"),
    ]
    lean = (
        sg.select(*per_unit, copy=False)
        .from_(_tab("_ab_u", "u"), copy=False)
        .join(
            sge.Join(this=_tab("_ab_o", "o"), on=joined, side="LEFT"),
            copy=False,
        )
        .where(sge.EQ(this=_col("variant", "u"), expression=_col("v2", "u")), copy=False)
        .group_by(_col("unit_id", "u"), _col("variant", "u"), _col("ts", "u"), copy=False)
    )
    ctes = [*_inputs_sql(i, compiler, ("_ab_a", "_ab_o")), ("_ab_u", _per_unit_sql("_ab_a"))]
    statement = lean
    if users is not None:
        su = users.schema()
        seg = [_alias(_col("channel", "s"), "channel")] if "channel" in su else []
        schema.update({"channel": su["channel"]} if seg else {})
        schema["new_vs_returning"] = dt.string
        lo = ibis.literal(i.lo).op()
        new = sge.GTE(
            this=_col("signup_ts", "s"),
            expression=compiler.visit_Literal(lo, value=lo.value, dtype=lo.dtype),
        )
        nvr = sge.Case().when(new, sge.convert("new"), copy=False)
        nvr = nvr.else_(sge.convert("returning"), copy=False)
        source = compiler.to_sqlglot(users).subquery(sg.to_identifier("s", quoted=True), copy=False)
        on = sge.EQ(this=_col("unit_id", "l"), expression=_col("user_id", "s"))
        statement = (
            sg.select(
                *(_col(c, "l") for c in schema if c not in ("channel", "new_vs_returning")),
                *seg,
                _alias(nvr, "new_vs_returning"),
                copy=False,
            )
            .from_(_tab("_ab_l", "l"), copy=False)
            .join(sge.Join(this=source, on=on, side="LEFT"), copy=False)
        )
        ctes.append(("_ab_l", lean))
    for name, q in ctes:
        name = sge.TableAlias(this=sg.to_identifier(name, quoted=True))
        statement = statement.with_(name, as_=q, copy=False)
    sql = statement.sql(dialect=compiler.dialect, copy=False)
    return backend.sql(sql, schema=schema)


def _per_unit_sql(assignments: str):
    """Per unit of ``assignments`` (a named select of ``unit_id``, ``variant``,
    ``assigned_ts``): its least and greatest variant (``variant``, ``v2``: the same for a
    unit in one variant) and first assignment (``ts``)."""

    def col(name):
        return sg.column(name, quoted=True)

    def alias(e, name):
        return sge.alias_(e, name, quoted=True, copy=False)

    source = sge.Table(
        this=sg.to_identifier(assignments, quoted=True),
        alias=sge.TableAlias(this=sg.to_identifier("a", quoted=True)),
    )
    return (
        sg.select(
            col("unit_id"),
            alias(sge.Min(this=col("variant")), "variant"),
            alias(sge.Max(this=col("variant")), "v2"),
            alias(sge.Min(this=col("assigned_ts")), "ts"),
            copy=False,
        )
        .from_(source, copy=False)
        .group_by(col("unit_id"), copy=False)
    )


def _users(users: ibis.Table) -> ibis.Table:
    """The users' segments by ``uid``: ``signup_ts`` and ``channel`` (when the users table has
    one)."""
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

    - ``inputs``: what the unit table reads (:class:`_Inputs`); ``a``: the experiment's
      assignments in the period (``unit_id``, ``variant``, ``assigned_ts``); ``o``: valid
      orders from ``pre_days`` before the period to its end (``uid``, ``order_ts``, ``gmv``);
      ``u``: per unit, its least and greatest variant (``variant``, ``last_variant``: the same
      for a unit in one variant) and first assignment; ``users``: the users' segments;
    - ``lean``: the unit table without the users join;
      ``counts``: one row, ``units`` (in one variant) and ``mixed`` (in several);
    - ``base``: every unit: ``unit_id``, ``variant``, ``day``, ``__one``, ``__mixed`` (1 for a
      unit in one variant / in several); ``base_users``: the same with the users' segments;
    - ``bought``: the units with an order in their window or pre-period: keys and metrics
      (``bought_id`` their unit);
    - ``empty``: the message when no unit is left."""

    def __init__(self, inputs: _Inputs, pre_days: int, users_table, empty: str) -> None:
        self.inputs, self.pre_days, self.lo = inputs, pre_days, inputs.lo
        self.users_table, self.empty = users_table, empty
        self.pre = ibis.interval(days=pre_days)

    @functools.cached_property
    def lean(self) -> ibis.Table:
        return _units_sql(self, None)

    # the unit table's columns without the users join
    LEAN_COLUMNS = frozenset(["unit_id", "variant", "assigned_ts", *SHOP_METRICS, "day"])

    @functools.cached_property
    def a(self) -> ibis.Table:
        i = self.inputs
        a = i.assignments
        a = a.filter(
            a.experiment_id == i.experiment_id, a.assigned_ts >= i.lo, a.assigned_ts < i.hi
        )
        return a.select("unit_id", "variant", "assigned_ts")

    @functools.cached_property
    def o(self) -> ibis.Table:
        i = self.inputs
        o = M.valid_orders(i.orders)
        o = o.filter(o.order_ts >= i.since, o.order_ts < i.hi)
        return o.select(uid=o.user_id, order_ts=o.order_ts, gmv=o.gmv)

    @functools.cached_property
    def users(self) -> ibis.Table | None:
        return None if self.users_table is None else _users(self.users_table)

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
    ok = parts is not None and set(columns) <= parts.LEAN_COLUMNS
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
    compiles only the two tables read, whose views, casts and mappings it knows): ``(ctes,
    every, bought, backend)``, ``ctes`` the named selects that ``every`` and ``bought`` read
    (each input scanned once), ``every`` every unit's ``keys``, ``__one`` and ``__mixed``,
    ``bought`` the units with an order, their ``keys`` and ``columns`` as doubles (none null:
    a unit's amounts read 0 when it has none, as in the unit table). None for any other table or keys other than
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

    def in_window():  # the order (o) is in the unit's (u) window, else in its pre-period
        return sge.GTE(this=_col("order_ts", "o"), expression=_col("ts", "u"))

    def case(cond, yes, no):
        yes, no = (_col("gmv", "o") if v == "gmv" else sge.convert(v) for v in (yes, no))
        return sge.Case().when(cond, yes, copy=False).else_(no, copy=False)

    def key_exprs(table):
        out = []
        for k in keys:
            if k == "variant":
                e = _col("variant", table)
                if not text_variant:
                    e = sge.Cast(this=e, to=sge.DataType(this=sge.DataType.Type.TEXT))
            else:
                e = sge.TimestampTrunc(this=_col("ts", table), unit=sge.var("DAY"))
            out.append(_alias(e, k))
        return out

    a, o, u, b = "_ab_a", "_ab_o", "_ab_u", "_ab_b"
    per_unit = _per_unit_sql(a)
    need = {_OF_SUM.get(c, c) for c in columns}
    sums = [
        _alias(
            sge.Coalesce(
                this=sge.Sum(this=case(in_window(), *_SUMS[n])), expressions=[sge.convert(0)]
            ),
            n,
        )
        for n in _SUMS
        if n in need
    ]
    joined = _orders_of_unit(parts.pre_days)
    per_bought = (
        sg.select(_col("variant", "u"), _col("ts", "u"), *sums, copy=False)
        .from_(_tab(u, "u"), copy=False)
        .join(sge.Join(this=_tab(o, "o"), on=joined, kind="INNER"), copy=False)
        .where(sge.EQ(this=_col("variant", "u"), expression=_col("v2", "u")), copy=False)
        .group_by(_col("unit_id", "u"), _col("variant", "u"), _col("ts", "u"), copy=False)
    )

    def value(c):  # as a double: what a sum of it, or of its products, reads
        v = _col(c, "b")
        if c in _OF_SUM:
            v = case(sge.GT(this=_col(_OF_SUM[c], "b"), expression=sge.convert(0)), 1, 0)
        return sge.Cast(this=v, to=sge.DataType(this=sge.DataType.Type.DOUBLE))

    def one(test):
        return case(test(this=_col("variant", "e"), expression=_col("v2", "e")), 1, 0)

    every = sg.select(
        *key_exprs("e"),
        _alias(one(sge.EQ), "__one"),
        _alias(one(sge.NEQ), "__mixed"),
        copy=False,
    ).from_(_tab(u, "e"), copy=False)
    bought = sg.select(*key_exprs("b"), *(_alias(value(c), c) for c in columns), copy=False).from_(
        _tab(b, "b"), copy=False
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
