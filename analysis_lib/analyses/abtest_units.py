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
    assigned to more than one variant are left out and counted in the returned notes."""
    a = src.table("assignments")
    a = a.filter(a.experiment_id == experiment_id)
    lo, hi = as_date_bounds(start, end)
    a = a.filter((a.assigned_ts >= lo) & (a.assigned_ts < hi))
    per_unit = a.group_by("unit_id").aggregate(
        variant=a.variant.min(), n_variants=a.variant.nunique(), assigned_ts=a.assigned_ts.min()
    )
    mixed = int(src.execute(per_unit.filter(per_unit.n_variants > 1).count()))
    u = per_unit.filter(per_unit.n_variants == 1).drop("n_variants")
    if int(src.execute(u.count())) == 0:
        raise DataError(
            f"{src.where('assignments')}: no units of experiment '{experiment_id}' assigned between {start} and {end}"
        )
    o = M.valid_orders(src.table("orders"))
    o = o.select(unit_id=o.user_id, order_ts=o.order_ts, gmv=o.gmv)
    pre = ibis.interval(days=pre_days)
    j = u.left_join(
        o, (u.unit_id == o.unit_id) & (o.order_ts >= u.assigned_ts - pre) & (o.order_ts < hi)
    )
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
    if src.has("users"):
        users = src.table("users")
        cols = {"signup_ts": users.signup_ts}
        if "channel" in users.columns:
            cols["channel"] = users.channel
        users = users.select(uid=users.user_id, **cols)
        k = agg.left_join(users, agg.unit_id == users.uid)
        agg = (
            k.drop("uid")
            .mutate(
                new_vs_returning=(k.signup_ts >= lo).ifelse("new", "returning"),
            )
            .drop("signup_ts")
        )
    return agg.mutate(variant=agg.variant.cast("string")), {"units_in_several_variants": mixed}


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
