"""Data quality: what stops a run, and what a report counts and shows.

Two kinds of problem, one table of rules each:

* **Blocking** (:func:`check_blocking`, called before anything executes): an empty table the
  notebook needs, a null in a key column, a duplicated primary key, a NaN or infinite amount, a
  negative GMV, a CSV time column that mixes time zones (a CSV that is not UTF-8, or whose dates
  read both as day/month and as month/day, is refused when it is read: :mod:`analysis_lib.core.data`). Each raises a one-line
  :class:`~analysis_lib.errors.DataError` naming the file, the column and how many rows.
* **Findings** (:func:`scan`): problems a run goes on with (duplicates, nulls in descriptive
  columns, negative quantities or stock, refunds above the amount paid, units in two variants).
  Every report shows them, with their counts and what the analysis does with those rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import pandas as pd

from analysis_lib.core import metrics as M
from analysis_lib.core.data import CANONICAL, DataSource, as_date_bounds, month_key, read_file
from analysis_lib.errors import DataError

# columns that must never be null (a row without them cannot be counted or joined)
KEYS: dict[str, list[str]] = {
    "orders": ["order_id", "user_id", "order_ts", "gmv", "status"],
    "order_items": ["order_id", "sku", "quantity", "unit_price"],
    "events": ["event_ts", "user_id", "event"],
    "users": ["user_id"],
    "products": ["sku", "category"],
    "inventory": ["date", "sku", "on_hand"],
    "marketing_spend": ["date", "channel", "spend"],
    "campaigns": ["campaign_id", "start_date", "end_date"],
    "assignments": ["experiment_id", "unit_id", "variant", "assigned_ts"],
    "targets": ["period", "metric", "target_value"],
    "market": ["period", "brand", "category", "sales"],
}
# primary keys: a duplicate would double every figure joined on it
UNIQUE: dict[str, str] = {
    "orders": "order_id",
    "users": "user_id",
    "products": "sku",
    "campaigns": "campaign_id",
}
# amounts and quantities the analyses sum or divide by: a NaN or an infinity in one (a float in
# Parquet, or the text nan/inf in a CSV, which DuckDB reads as such) makes every sum NaN or
# infinite, shown as "n/a" or "∞", and every comparison with it false (so a NaN refund counts as
# no refund), so the run stops instead. Only floating-point columns can hold them.
FINITE: dict[str, list[str]] = {
    "orders": ["gmv", "refund_amount", "discount"],
    "order_items": ["quantity", "unit_price", "unit_cost"],
    "products": ["price", "cost"],
    "inventory": ["on_hand"],
    "marketing_spend": ["spend"],
    "campaigns": ["budget", "target_gmv"],
    "targets": ["target_value"],
    "market": ["sales", "units"],
}
# numbers that cannot be negative without the data being wrong
NON_NEGATIVE_STOP: dict[str, list[str]] = {"orders": ["gmv"]}
_WHY_NEG = {"gmv": "GMV is what the buyer paid; record a refund with status 'refunded'"}

# time column of each table, to limit the findings to the analysed period
TIME_COLUMN: dict[str, str] = {
    "orders": "order_ts",
    "events": "event_ts",
    "inventory": "date",
    "marketing_spend": "date",
    "assignments": "assigned_ts",
}


@dataclass(frozen=True)
class Finding:
    """One data-quality finding a run went on with.

    Attributes:
        table: the table it is in.
        check: what was checked (English; the report translates the known ones).
        rows: how many rows it concerns (0 = the check passed).
        total: how many rows were checked.
        handling: what the analysis does with those rows.
    """

    table: str
    check: str
    rows: int
    total: int
    handling: str


# ---------------------------------------------------------------------------------------------
# blocking checks


_TZ_RX = r"(Z|[+-]\d{2}(:?\d{2})?)$"


def check_csv_time_zones(src: DataSource, table: str, columns: list[str]) -> None:
    """A CSV time column whose values carry different UTC offsets (or some an offset and some
    none) is refused: the shop's days would shift silently."""
    path = src._files.get(table) if src.folder is not None else None
    if path is None or path.is_dir() or path.suffix != ".csv":
        return
    # as stored, before the shop-zone cast (and read as src.table reads it: same view name)
    schema = read_file(src.con, path, table, src.date_format, src.timestamp_format).schema()
    aware = [c for c in columns if c in schema and getattr(schema[c], "timezone", None)]
    for col in aware:
        raw = src.con.read_csv(str(path), all_varchar=True)
        off = raw[col].strip().re_extract(_TZ_RX, 0).name("offset")
        zones = src.execute(raw.select(off).distinct().limit(5))["offset"]
        zones = sorted({z if z else "none" for z in zones.fillna("none")})
        if len(zones) > 1:
            raise DataError(
                f"{path}: column '{table}.{col}' mixes time zones ({', '.join(zones)}); "
                f"write every time in the shop's time zone, with no offset"
            )


def _table_stats(src: DataSource, table: str) -> dict[str, int]:
    t = src.table(table)
    cols = t.columns
    aggs: dict[str, ibis.Expr] = {"n": t.count()}
    for c in KEYS.get(table, []):
        if c in cols:
            aggs[f"null:{c}"] = t[c].isnull().cast("int64").sum().coalesce(0)
    key = UNIQUE.get(table)
    if key and key in cols:
        aggs[f"distinct:{key}"] = t[key].nunique()
    schema = t.schema()
    for c in FINITE.get(table, []):
        if c in cols and schema[c].is_floating():
            aggs[f"nonfinite:{c}"] = (t[c].isnan() | t[c].isinf()).cast("int64").sum().coalesce(0)
    for c in NON_NEGATIVE_STOP.get(table, []):
        if c in cols:
            aggs[f"neg:{c}"] = (t[c] < 0).cast("int64").sum().coalesce(0)
    row = src.execute(t.aggregate(**aggs)).iloc[0]
    return {k: int(v) for k, v in row.items()}


def check_blocking(src: DataSource, required: list[str], optional: list[str] = ()) -> None:
    """Stop before executing when a table the notebook reads cannot be trusted at all.

    ``required`` tables must have rows; every present table in either list must have no null
    keys, no duplicated primary key, no NaN or infinite amount (:data:`FINITE`) and no negative
    GMV. CSV files are checked for mixed time
    zones first. Raises a one-line :class:`DataError` naming the file and column.
    """
    tables = list(required) + [t for t in optional if src.has(t)]
    for table in tables:
        ts = [c for c, kind in CANONICAL.get(table, {}).items() if kind == "ts"]
        check_csv_time_zones(src, table, ts)
        where = src.where(table)
        s = _table_stats(src, table)
        if s["n"] == 0:
            if table in required:
                raise DataError(f"{where}: table '{table}' is empty (no rows)")
            continue
        for c in KEYS.get(table, []):
            n = s.get(f"null:{c}", 0)
            if n:
                raise DataError(
                    f"{where}: column '{table}.{c}' has {n:,} null value(s) in {s['n']:,} rows "
                    f"(a key column must not be null)"
                )
        key = UNIQUE.get(table)
        if key and f"distinct:{key}" in s and s[f"distinct:{key}"] < s["n"]:
            t = src.table(table)
            dup = t.group_by(key).aggregate(k=t.count()).filter(lambda x: x.k > 1)
            n_dup = int(src.execute(dup.count()))
            raise DataError(
                f"{where}: column '{table}.{key}' has {n_dup:,} value(s) that appear more than "
                f"once (each {key} must be unique; a duplicate would double every joined figure)"
            )
        for c in FINITE.get(table, []):
            n = s.get(f"nonfinite:{c}", 0)
            if n:
                raise DataError(
                    f"{where}: column '{table}.{c}' has {n:,} NaN or infinite value(s) in "
                    f"{s['n']:,} rows (an amount must be a finite number)"
                )
        for c in NON_NEGATIVE_STOP.get(table, []):
            n = s.get(f"neg:{c}", 0)
            if n:
                raise DataError(
                    f"{where}: column '{table}.{c}' has {n:,} negative value(s) ({_WHY_NEG[c]})"
                )
        for c in [c for c, kind in CANONICAL.get(table, {}).items() if kind == "month"]:
            t = src.table(table)  # periods are few: their distinct values are checked here
            month_key(src.execute(t.select(t[c]).distinct())[c], f"{where}: column '{table}.{c}'")


# ---------------------------------------------------------------------------------------------
# findings a run goes on with


def _in_period(t: ibis.Table, table: str, start, end) -> ibis.Table:
    col = TIME_COLUMN.get(table)
    if start is None or col is None or col not in t.columns:
        return t
    lo, hi = as_date_bounds(start, end)
    if t[col].type().is_date():
        lo, hi = lo.date(), hi.date()
    return t.filter((t[col] >= lo) & (t[col] < hi))


@dataclass(frozen=True)
class _Own:
    """A rule's count over a relation derived from the table: a query of its own."""

    expr: ibis.Expr


def _n(cond: ibis.Value) -> ibis.Expr:
    """Rows where ``cond`` holds."""
    return cond.cast("int64").sum().coalesce(0)


def _dup_rows(t: ibis.Table, cols: list[str]) -> _Own:
    """Rows beyond the first of each value of ``cols``."""
    g = t.group_by(cols).aggregate(k=t.count())
    return _Own((g.k - 1).sum().coalesce(0))


def _mixed_units(t: ibis.Table) -> _Own:
    per = t.group_by(["experiment_id", "unit_id"]).aggregate(v=t.variant.nunique())
    return _Own(per.filter(per.v > 1).count())


# (table, check, columns it needs, count of rows concerned, what the analysis does with them);
# a rule whose columns a table lacks is skipped
RULES = [
    ("orders", "status not paid, refunded or cancelled", ["status"],
     lambda t: _n(~t.status.isin(M.ORDER_STATUSES)), "not counted in GMV or orders"),
    ("orders", "zero GMV", ["gmv"], lambda t: _n(t.gmv == 0), "counted as orders with no GMV"),
    ("orders", "refund above the amount paid", ["gmv", "refund_amount"],
     lambda t: _n(t.refund_amount > t.gmv), "kept as recorded; check the refund feed"),
    ("orders", "missing channel", ["channel"], lambda t: _n(t.channel.isnull()), "grouped as '(none)'"),
    ("orders", "missing device", ["device"], lambda t: _n(t.device.isnull()), "grouped as '(none)'"),
    ("order_items", "duplicate line (order_id, sku)", ["order_id", "sku"],
     lambda t: _dup_rows(t, ["order_id", "sku"]), "summed as recorded"),
    ("order_items", "quantity zero or negative", ["quantity"], lambda t: _n(t.quantity <= 0), "kept as recorded"),
    ("order_items", "negative unit price", ["unit_price"], lambda t: _n(t.unit_price < 0), "kept as recorded"),
    ("events", "duplicate event (same user, time, event)", ["event_ts", "user_id", "event"],
     lambda t: _dup_rows(t, [k for k in ("event_ts", "user_id", "event", "session_id") if k in t.columns]),
     "a unit counts once per step"),
    ("events", "missing channel", ["channel"], lambda t: _n(t.channel.isnull()), "grouped as '(none)'"),
    ("events", "missing device", ["device"], lambda t: _n(t.device.isnull()), "grouped as '(none)'"),
    ("users", "missing signup time", ["signup_ts"], lambda t: _n(t.signup_ts.isnull()), "kept; no signup cohort"),
    ("products", "price zero or negative", ["price"], lambda t: _n(t.price <= 0), "kept as recorded"),
    ("inventory", "negative stock", ["on_hand"], lambda t: _n(t.on_hand < 0), "treated as zero"),
    ("inventory", "duplicate (date, sku)", ["date", "sku"], lambda t: _dup_rows(t, ["date", "sku"]), "kept as recorded"),
    ("marketing_spend", "negative spend", ["spend"], lambda t: _n(t.spend < 0), "kept as recorded"),
    ("assignments", "unit assigned to more than one variant", ["experiment_id", "unit_id", "variant"],
     _mixed_units, "left out of the experiment"),
]  # fmt: skip


def _rules(t: ibis.Table, table: str) -> list[tuple[str, ibis.Expr | _Own, str]]:
    """(check, expression counting the rows concerned, handling) for ``table``."""
    return [
        (check, count(t), handling)
        for tbl, check, needs, count, handling in RULES
        if tbl == table and set(needs) <= set(t.columns)
    ]


# fact tables fed daily: a period that runs past their last row is reported on days without data
FEEDS = ("orders", "events")
PAST_THE_DATA = "period runs past the last row"


def _coverage(src: DataSource, table: str, start, end) -> Finding:
    """Days of the period after ``table``'s last row (a feed that has not landed yet), of the days
    in the period; the check names the last day with data when there are such days."""
    col = TIME_COLUMN[table]
    t = src.table(table)
    last = src.execute(t[col].max())
    days = (end - start).days + 1
    late = 0 if last is None or pd.isna(last) else max((end - pd.Timestamp(last).date()).days, 0)
    late = min(late, days)
    check = f"{PAST_THE_DATA} ({pd.Timestamp(last):%Y-%m-%d})" if late else PAST_THE_DATA
    return Finding(table, check, late, days, "figures cover only the days with data (rows = days)")


def scan(src: DataSource, tables: list[str], start=None, end=None) -> list[Finding]:
    """Data-quality findings for ``tables`` (those present), over the period where a table has a
    time column. One engine query per table; checks that passed are returned with ``rows=0``.
    With a period, the daily feeds (:data:`FEEDS`) are also checked for days of the period after
    their last row."""
    found: list[Finding] = []
    for table in tables:
        if not src.has(table):
            continue
        if start is not None and table in FEEDS and TIME_COLUMN[table] in src.table(table).columns:
            found.append(_coverage(src, table, *_dates(start, end)))
        t = _in_period(src.table(table), table, start, end)
        found += _id_casts(src, table, t)
        rules = _rules(t, table)
        if not rules:
            continue
        # row-level rules share one pass over the table; rules over a derived relation (duplicates,
        # units in two variants) are queries of their own
        same = {f"r{i}": e for i, (_, e, _) in enumerate(rules) if not isinstance(e, _Own)}
        row = src.execute(t.aggregate(total=t.count(), **same)).iloc[0]
        for i, (check, e, handling) in enumerate(rules):
            rows = row[f"r{i}"] if f"r{i}" in same else src.execute(e.expr)
            found.append(Finding(table, check, int(rows), int(row["total"]), handling))
    return found


ID_AS_NUMBER = "stored as a number"
ID_READ_AS_TEXT = "read as text: ids join and compare as text"


def _id_casts(src: DataSource, table: str, t: ibis.Table) -> list[Finding]:
    """A note per id column stored as numbers and read as text (:func:`analysis_lib.core.data.
    _text_ids`): every row of the period is concerned, none is lost."""
    casts = [(col, typ) for (tbl, col), typ in src.id_casts.items() if tbl == table]
    if not casts:
        return []
    total = int(src.execute(t.count()))
    return [
        Finding(table, f"{col} {ID_AS_NUMBER} ({typ})", total, total, ID_READ_AS_TEXT)
        for col, typ in casts
    ]


def _dates(start, end) -> tuple:
    """``start`` and ``end`` as dates."""
    return pd.Timestamp(start).date(), pd.Timestamp(end).date()


def for_params(src: DataSource, params, start=None, end=None) -> list[Finding]:
    """:func:`scan` over the tables a run reads (``params.tables_read()``) and its period, widened to ``start``/``end`` and to a ``compare_period`` when given."""
    start = min(d for d in (start, params.period.start) if d is not None)
    end = max(d for d in (end, params.period.end) if d is not None)
    cmp = getattr(params, "compare_period", None)
    if cmp is not None:
        start, end = min(start, cmp.start), max(end, cmp.end)
    return scan(src, params.tables_read(), start, end)


def scan_series(y: pd.Series) -> list[Finding]:
    """Findings for a KPI series read from a file (intervention impact): missing values and
    duplicated dates (controls must be complete: :func:`analysis_lib.analyses.causal.read_series`
    refuses gaps there)."""
    return [
        Finding(
            "series",
            "missing value",
            int(y.isna().sum()),
            len(y),
            "skipped by the model's Kalman filter",
        ),
        Finding(
            "series", "duplicate date", int(y.index.duplicated().sum()), len(y), "kept as recorded"
        ),
    ]


def to_frame(findings: list[Finding]) -> pd.DataFrame:
    """The findings as a DataFrame (one row per check)."""
    return pd.DataFrame(
        [f.__dict__ for f in findings], columns=["table", "check", "rows", "total", "handling"]
    )


def summary(findings: list[Finding]) -> dict[str, int]:
    """For results.json and the index: checks run, checks that found rows (warnings), and rows
    concerned (a row may count once per check)."""
    return {
        "checks": len(findings),
        "warnings": sum(1 for f in findings if f.rows),
        "rows": sum(f.rows for f in findings),
    }
