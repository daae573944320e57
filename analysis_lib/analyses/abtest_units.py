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
import weakref
from typing import NamedTuple

import ibis

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
    a = src.table("assignments")
    a = a.filter(a.experiment_id == experiment_id)
    lo, hi = as_date_bounds(start, end)
    a = a.filter((a.assigned_ts >= lo) & (a.assigned_ts < hi))
    per_unit = a.group_by("unit_id").aggregate(
        variant=a.variant.min(), last_variant=a.variant.max(), assigned_ts=a.assigned_ts.min()
    )
    # one variant: the least and the greatest are the same (cheaper than counting distinct ones)
    one = per_unit.variant == per_unit.last_variant
    several = per_unit.variant != per_unit.last_variant
    counts = per_unit.aggregate(
        mixed=several.ifelse(1, 0).sum().coalesce(0), units=one.ifelse(1, 0).sum().coalesce(0)
    )
    empty = (
        f"{src.where('assignments')}: no units of experiment '{experiment_id}' assigned between "
        f"{start} and {end}"
    )
    u = per_unit.filter(one).drop("last_variant")
    pre = ibis.interval(days=pre_days)
    o = M.valid_orders(src.table("orders"))
    o = o.filter((o.order_ts >= lo - _dt.timedelta(days=pre_days)) & (o.order_ts < hi))
    o = o.select(uid=o.user_id, order_ts=o.order_ts, gmv=o.gmv)
    j = u.left_join(o, (u.unit_id == o.uid) & (o.order_ts >= u.assigned_ts - pre))
    in_win = j.order_ts >= j.assigned_ts
    in_pre = j.order_ts < j.assigned_ts
    agg = j.group_by([j.unit_id, j.variant, j.assigned_ts]).aggregate(
        orders=in_win.ifelse(1, 0).sum().coalesce(0),
        revenue=in_win.ifelse(j.gmv, 0).sum().coalesce(0),
        pre_orders=in_pre.ifelse(1, 0).sum().coalesce(0),
        pre_revenue=in_pre.ifelse(j.gmv, 0).sum().coalesce(0),
    )
    agg = agg.mutate(
        converted=(agg.orders > 0).cast("int64"),
        pre_converted=(agg.pre_orders > 0).cast("int64"),
        day=agg.assigned_ts.truncate("D"),
    )
    units = agg.mutate(variant=agg.variant.cast("string"))
    lean_units = units
    # the same units in two parts, for statistics that only units with an order can move: every
    # unit (its variant and day) and, for units with an order, their values (the rest read 0)
    # every unit, those in several variants too (counted apart: __one, __mixed)
    base = per_unit.select(
        "unit_id",
        variant=per_unit.variant.cast("string"),
        day=per_unit.assigned_ts.truncate("D"),
        __one=one.ifelse(1, 0),
        __mixed=several.ifelse(1, 0),
    )
    jb = u.join(o, (u.unit_id == o.uid) & (o.order_ts >= u.assigned_ts - pre))
    w = jb.order_ts >= jb.assigned_ts
    bought = jb.group_by(
        bought_id=jb.unit_id, variant=jb.variant, assigned_ts=jb.assigned_ts
    ).aggregate(
        orders=w.ifelse(1, 0).sum(),
        revenue=w.ifelse(jb.gmv, 0).sum(),
        pre_orders=w.ifelse(0, 1).sum(),
        pre_revenue=w.ifelse(0, jb.gmv).sum(),
    )
    bought = bought.mutate(
        variant=bought.variant.cast("string"),
        day=bought.assigned_ts.truncate("D"),
        converted=(bought.orders > 0).cast("int64"),
        pre_converted=(bought.pre_orders > 0).cast("int64"),
    )
    base_users = base
    if src.has("users"):
        units, base_users = (_with_users(src, t, lo) for t in (units, base))
    _PARTS[units] = _Parts(lean_units, base, base_users, bought, counts, empty)
    return units


def _with_users(src: DataSource, t: ibis.Table, lo) -> ibis.Table:
    """``t`` (a ``unit_id`` column) with the users' segments: ``channel`` (when the users table
    has one) and ``new_vs_returning`` (signed up before the period or not)."""
    users = src.table("users")
    cols = {"signup_ts": users.signup_ts}
    if "channel" in users.columns:
        cols["channel"] = users.channel
    users = users.select(uid=users.user_id, **cols)
    k = t.left_join(users, t.unit_id == users.uid)
    return (
        k.drop("uid")
        .mutate(new_vs_returning=(k.signup_ts >= lo).ifelse("new", "returning"))
        .drop("signup_ts")
    )


class _Parts(NamedTuple):
    lean: ibis.Table  # the unit table without the users join
    base: ibis.Table  # every unit: unit_id, variant, day, __one, __mixed
    base_users: ibis.Table  # the same with the users' segments
    bought: ibis.Table  # units with an order in their window or pre-period: keys, metrics
    counts: ibis.Table  # one row: units (in one variant) and mixed (in several)
    empty: str  # the message when no unit is left


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
