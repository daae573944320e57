"""The data layer: connect to a source, expose Ibis tables, check them against the canonical model.

A source is either a folder of Parquet/CSV files, read through an in-process DuckDB (nothing to
start), or any Ibis backend URL (``duckdb://``, ``postgres://``, ``pyspark://``...), passed through
to :func:`ibis.connect`. In a folder, a table is a file ``<table>.parquet`` / ``<table>.csv`` or a
sub-folder ``<table>/`` of Parquet parts (how the large sample data is written).
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import json
import os
import re
import sys
import tempfile
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.operations as ops
import pandas as pd

from analysis_lib.core import profile as _profile
from analysis_lib.errors import DataError

# kind of each required column: id / text -> string, ts -> timestamp, date -> date or timestamp,
# num -> any number.
CANONICAL: dict[str, dict[str, str]] = {
    "orders": {
        "order_id": "id",
        "user_id": "id",
        "order_ts": "ts",
        "gmv": "num",
        "status": "text",
    },
    "order_items": {"order_id": "id", "sku": "id", "quantity": "num", "unit_price": "num"},
    "events": {"event_ts": "ts", "user_id": "id", "event": "text"},
    "users": {"user_id": "id", "signup_ts": "ts"},
    "products": {"sku": "id", "category": "text", "price": "num"},
    "inventory": {"date": "date", "sku": "id", "on_hand": "num"},
    "marketing_spend": {"date": "date", "channel": "text", "spend": "num"},
    "campaigns": {"campaign_id": "id", "name": "text", "start_date": "date", "end_date": "date"},
    "assignments": {"experiment_id": "id", "unit_id": "id", "variant": "text", "assigned_ts": "ts"},
    "targets": {"period": "month", "metric": "text", "target_value": "num"},
    "market": {"period": "month", "brand": "text", "category": "text", "sales": "num"},
}

# optional columns with a type the analyses rely on, checked when present
OPTIONAL_TYPED: dict[str, dict[str, str]] = {"orders": {"is_guest": "bool"}}

_KIND_OK = {
    "bool": lambda t: t.is_boolean(),
    "id": lambda t: t.is_string(),
    "text": lambda t: t.is_string(),
    "ts": lambda t: t.is_timestamp(),
    "date": lambda t: t.is_date() or t.is_timestamp(),
    "num": lambda t: t.is_numeric(),
    "month": lambda t: t.is_string() or t.is_date() or t.is_timestamp(),
}
_KIND_NAME = {
    "bool": "boolean (true/false)",
    "id": "string",
    "text": "string",
    "ts": "timestamp",
    "date": "date",
    "num": "number",
    "month": "month (YYYY-MM or YYYY text, or a date)",
}


@dataclass
class DataSource:
    """An open data source: ``table(name)`` gives an Ibis table expression. ``url`` is for
    messages, with any password masked (:func:`redact_url`); ``date_format`` and
    ``timestamp_format`` are how non-ISO dates in CSV files are written (:func:`read_file`)."""

    url: str
    con: object
    folder: Path | None = None
    date_format: str | None = None
    timestamp_format: str | None = None
    _files: dict[str, Path] = field(default_factory=dict)
    _cache: dict[str, ibis.Table] = field(default_factory=dict)
    # id columns stored as numbers and read as text: (table, column) -> stored type
    id_casts: dict[tuple[str, str], str] = field(default_factory=dict)
    # intermediate results an analysis computes once per run and reuses (engine temp tables)
    memo: dict[tuple, ibis.Table] = field(default_factory=dict)
    # a shop profile's mappings (core/profile.py): canonical table -> TableMap, named sources,
    # and the profile's path for messages
    tables: dict[str, _profile.TableMap] = field(default_factory=dict)
    sources: dict[str, _profile.Source] = field(default_factory=dict)
    profile: str | None = None
    _raw: dict[str, str] = field(default_factory=dict)

    def names(self) -> list[str]:
        """Names of the tables this source holds (a mapped table under its canonical name)."""
        if self.folder is not None:
            have = set(self._files)
        else:
            have = {n for n in self.con.list_tables() if not n.startswith("_wb_")}
        return sorted(have | set(self.tables))

    def profile_label(self) -> str:
        """The file the mappings come from, for messages."""
        return self.profile or "data"

    def register_raw(self, rel: str, where: str) -> str:
        """A file (or glob, or folder of Parquet parts) under the data folder read as an engine
        view, once; its view's name. ``where`` names the mapping field in messages."""
        if rel in self._raw:
            return self._raw[rel]
        path = self.folder / rel
        if any(ch in rel for ch in "*?["):
            if not sorted(self.folder.glob(rel)):
                raise DataError(f"{where}: no file matches '{rel}' under {self.folder}")
        elif not path.exists():
            near = difflib.get_close_matches(rel, [p.name for p in self.folder.iterdir()], n=1)
            hint = f" (did you mean '{near[0]}'?)" if near else ""
            raise DataError(f"{where}: file '{rel}' not found under {self.folder}{hint}")
        stem = re.sub(r"\W", "_", Path(rel).stem)
        view = f"{_profile.RAW_PREFIX}{len(self._raw)}_{stem}"
        read_file(self.con, path, rel, self.date_format, self.timestamp_format, view=view)
        self._raw[rel] = view
        return view

    def has(self, name: str) -> bool:
        """Whether the source holds table ``name``."""
        return name in self.names()

    def where(self, name: str) -> str:
        """Where table ``name`` lives, for error messages (a file path, ``url#table``, or the
        profile's mapping)."""
        if name in self.tables:
            return f"{self.profile_label()}#tables.{name}"
        if self.folder is not None and name in self._files:
            return str(self._files[name])
        return f"{self.url}#{name}"

    def table(self, name: str) -> ibis.Table:
        """The Ibis table ``name``; a clear :class:`DataError` when it is missing."""
        if name in self._cache:
            return self._cache[name]
        if not self.has(name):
            raise DataError(
                f"{self.url}: table '{name}' not found (have: {', '.join(self.names()) or 'none'})"
            )
        if name in self.tables:
            t = _profile.build_table(self, name)
        elif self.folder is None:
            t = self.con.table(name)
        else:
            t = read_file(
                self.con, self._files[name], name, self.date_format, self.timestamp_format
            )
        t = _wall_clock(_text_ids(t, name, self.id_casts))
        self._cache[name] = t
        return t

    # query accounting: statements sent through execute, the rows their scans read (DuckDB's
    # profiler counters, at no measurable cost) and the statements whose rows are not known
    # (every one on other backends; on DuckDB, e.g. a bare COUNT(*) the profiler leaves empty)
    queries: int = 0
    rows_read: int = 0
    queries_rows_unknown: int = 0
    _profiling: bool | None = None

    def execute(self, expr) -> object:
        """Run an Ibis expression on this source's backend (pandas result); counted in
        ``queries`` and ``rows_read``."""
        if self._profiling is None:
            self._profiling = _start_profiling(self.con)
            _memo_compile(self.con)
        out = _small_sql_result(self.con, expr)
        if out is None:
            out = self.con.execute(expr)
        self.queries += 1
        rows = _rows_scanned(self.con) if self._profiling else None
        if rows is None:
            self.queries_rows_unknown += 1
        else:
            self.rows_read += rows
        return out

    def cache(self, expr):
        """Keep an Ibis table expression in the engine for the run (a temp table, Ibis's
        ``cache``), counted in ``queries`` and ``rows_read`` as :meth:`execute` counts."""
        if self._profiling is None:
            self._profiling = _start_profiling(self.con)
            _memo_compile(self.con)
        if not self._profiling:
            out, rows = expr.cache(), None
        else:  # Ibis sends several statements (create, insert, describe): add up their scans
            tap = self.con.con = _ScanTap(self.con.con)
            try:
                out = expr.cache()
            finally:
                self.con.con = tap.con
            rows = tap.rows
        self.queries += 1
        if rows is None:
            self.queries_rows_unknown += 1
        else:
            self.rows_read += rows
        return out

    def query_counts(self) -> dict:
        """What this source sent to its engine so far: ``queries``, ``rows_read`` (None when no
        statement's rows are known) and ``queries_rows_unknown``."""
        known = self.queries - self.queries_rows_unknown
        return {
            "queries": self.queries,
            "rows_read": self.rows_read if known else None,
            "queries_rows_unknown": self.queries_rows_unknown,
        }


# pandas dtypes of DuckDB's own frame that are the ones Ibis gives for these types
_DUCKDB_FRAME = {
    "int64": "int64",
    "float64": "float64",
    "string": "str",
    "timestamp": "datetime64[us]",
    "timestamp(6)": "datetime64[us]",
}


def _small_sql_result(con, expr) -> pd.DataFrame | None:
    """SQL written for a DuckDB backend (``con.sql(query, schema=...)``) of integers,
    doubles, text and timestamps: DuckDB's own frame, milliseconds cheaper than Ibis's
    conversion column by column (issue 20: the A/B statistics). None for anything else, or
    when a column's dtype is not the one Ibis gives (a null in an integer column): Ibis runs
    it."""
    op = expr.op()
    if not isinstance(op, ops.SQLQueryResult) or getattr(con, "name", None) != "duckdb":
        return None
    want = [_DUCKDB_FRAME.get(str(t)) for t in op.schema.types]
    if None in want:
        return None
    df = con.con.sql(op.query).df()
    ok = list(df.columns) == list(op.schema.names) and [str(d) for d in df.dtypes] == want
    return df if ok else None


def _start_profiling(con) -> bool:
    """Turn on DuckDB's profiler without output (its counters only); False on other backends."""
    raw = getattr(con, "con", None)
    if getattr(con, "name", None) != "duckdb" or not hasattr(raw, "get_profiling_information"):
        return False
    try:
        raw.execute("SET enable_profiling = 'no_output'")
    except Exception:  # a read-only or older connection: rows read stay unknown
        return False
    return True


# statements whose SQL a connection keeps (:func:`_memo_compile`)
COMPILED_KEPT = 128


def _memo_compile(con) -> None:
    """Keep the SQL of the last :data:`COMPILED_KEPT` expressions compiled on the Ibis backend
    ``con``, keyed by the expression (equal expressions, however built, share it): an expression
    sent again (the same statement in a second report section, a benchmark's repeats) skips
    Ibis's compiler, tens of milliseconds for a statement of a few joins. SQL given as it is
    (``con.sql(query, schema=...)``) is sent as it is, not parsed and written again. Calls with a
    limit, parameters or pretty-printing compile as before. Installed once per connection."""
    compile_ = getattr(con, "compile", None)
    if compile_ is None or getattr(compile_, "memo", None) is not None:
        return
    kept: OrderedDict = OrderedDict()

    def compile(expr, /, **kwargs):
        if any(v is not None and v is not False for v in kwargs.values()):
            return compile_(expr, **kwargs)
        key = expr.op()
        if isinstance(key, ops.SQLQueryResult):  # SQL written for this backend: sent as it is
            return key.query
        sql = kept.get(key)
        if sql is None:
            sql = kept[key] = compile_(expr, **kwargs)
            if len(kept) > COMPILED_KEPT:
                kept.popitem(last=False)
        else:
            kept.move_to_end(key)
        return sql

    compile.memo = kept
    con.compile = compile


class _ScanTap:
    """A DuckDB connection passed through, adding up the rows each statement's scans read
    (:func:`_rows_scanned`) while Ibis runs the statements of one call on it."""

    def __init__(self, con) -> None:
        self.con, self.rows = con, None

    def execute(self, *args, **kwargs):
        self.con.execute(*args, **kwargs)
        n = _rows_scanned(self)
        if n is not None:
            self.rows = (self.rows or 0) + n
        return self

    def __getattr__(self, name):
        return getattr(self.con, name)


def _rows_scanned(con) -> int | None:
    """Rows the last DuckDB statement's table scans produced (after filters pushed into them)."""
    try:
        tree = json.loads(con.con.get_profiling_information(format="json"))
    except Exception:
        return None
    if "children" not in tree:  # no profile of this statement ("result": "error")
        return None

    def walk(node) -> int:
        own = (
            node.get("operator_cardinality", 0) if node.get("operator_type") == "TABLE_SCAN" else 0
        )
        return own + sum(walk(c) for c in node.get("children", []))

    return walk(tree)


# id columns of the canonical model and the optional ones the analyses join on
ID_COLUMNS: dict[str, list[str]] = {
    table: [c for c, kind in cols.items() if kind == "id"] for table, cols in CANONICAL.items()
}
ID_COLUMNS["orders"] += ["campaign_id"]
ID_COLUMNS["events"] += ["session_id"]
ID_COLUMNS["marketing_spend"] = ["campaign_id"]
ID_COLUMNS["order_items"] = ["order_id", "sku"]


def _text_ids(t: ibis.Table, table: str, casts: dict[tuple[str, str], str]) -> ibis.Table:
    """Id columns stored as numbers read as text, so they join and compare as ids: DuckDB reads a
    CSV's ``order_id``/``user_id`` as integers (quoted or not), and exports often hold customer
    ids as floats (``12346.0``, with NaN for guests). An integral float becomes its integer's
    digits (``12346``), so the same id stored as an integer in one table and a float in another
    still joins; a null stays null. Each cast is recorded in ``casts`` for the data-quality
    section."""
    schema = t.schema()
    fix = {}
    for col in ID_COLUMNS.get(table, []):
        if col not in schema or not schema[col].is_numeric():
            continue
        c = t[col]
        if schema[col].is_floating():
            # inf, NaN and values past int64 stay as written (a cast would fail in the engine)
            odd = c.isnan() | c.isinf() | (c.abs() >= 2.0**63)
            whole = odd.ifelse(False, c == c.floor())
            fix[col] = whole.ifelse(c.cast("int64").cast("string"), c.cast("string"))
        else:
            fix[col] = c.cast("string")
        casts[(table, col)] = str(schema[col])
    return t.mutate(**fix) if fix else t


_SNIFF_BYTES = 4 * 1024 * 1024


def check_csv_encoding(path: Path, table: str) -> None:
    """A CSV must be UTF-8 (a BOM is fine): a GBK or Latin-1 export is refused with the fix."""
    with path.open("rb") as f:
        head = f.read(_SNIFF_BYTES)
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 4:  # a character cut by the sniff window
            return
        guess = ""
        try:
            head[: exc.start + 64].decode("gbk")
            guess = " (it looks like GBK)"
        except UnicodeDecodeError:
            pass
        raise DataError(
            f"{path}: table '{table}' is not UTF-8 text{guess} at byte {exc.start}; "
            f"save it as UTF-8 (e.g. iconv -f GBK -t UTF-8)"
        ) from None


# a date written day and month first or month and day first, then the year (10/02/2025,
# 10.02.25), optionally followed by a time: the forms whose order a reader has to be told
_NON_ISO_DATE = (
    r"^\s*(\d{1,2})[/.\-](\d{1,2})[/.\-]\d{2,4}(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?\s*$"
)
_SAMPLE_ROWS = 1000


def _non_iso_date_columns(con, path: Path) -> dict[str, str]:
    """Columns of a CSV whose values (in its first rows, read as text) are all dates written
    like ``10/02/2025``: day and month in an order the text alone may not tell; each with its
    first value."""
    sample = con.read_csv(str(path), all_varchar=True).limit(_SAMPLE_ROWS).execute()
    rx = re.compile(_NON_ISO_DATE)
    cols = {}
    for c in sample.columns:
        vals = sample[c].dropna()
        if len(vals) and all(rx.match(v) for v in vals):
            cols[c] = str(vals.iloc[0]).strip()
    return cols


def _refuse_ambiguous_dates(con, path: Path, name: str, table: ibis.Table) -> None:
    """CSV dates written like ``10/02/2025`` that read both as day/month and as month/day are
    refused: DuckDB's sniffer would pick day/month, and a US export would be read with its
    months and days swapped, silently. Each date or timestamp column must settle the order
    itself, by a value above 12: DuckDB picks one order per file for dates (and one for
    timestamps) from the first column it can parse, so a column settled elsewhere in the file
    may still have been read the other way round (and columns it cannot parse stay text). A
    column whose values settle nothing and have some day and month that differ is refused with
    the fix (``data.date_format``); when a value above 12 settles it, the sniffer's reading
    stands."""
    schema = table.schema()
    dated = [c for c, t in schema.items() if t.is_date() or t.is_timestamp()]
    cols = [c for c in _non_iso_date_columns(con, path) if c in dated]
    if not cols:
        return
    raw = con.read_csv(str(path), all_varchar=True)
    aggs = {}
    for i, c in enumerate(cols):
        first, second = (
            raw[c].re_extract(_NON_ISO_DATE, k).nullif("").cast("int64") for k in (1, 2)
        )
        aggs[f"a{i}"] = (first > 12).cast("int64").sum().coalesce(0)
        aggs[f"b{i}"] = (second > 12).cast("int64").sum().coalesce(0)
        aggs[f"d{i}"] = (first != second).cast("int64").sum().coalesce(0)
        aggs[f"e{i}"] = raw[c].max(where=first != second)
    row = con.execute(raw.aggregate(**aggs)).iloc[0]
    for i, c in enumerate(cols):
        if row[f"a{i}"] == 0 and row[f"b{i}"] == 0 and row[f"d{i}"] > 0:
            raise DataError(
                f"{path}: column '{name}.{c}' has dates like '{str(row[f'e{i}']).strip()}' that "
                "read both as day/month and as month/day (no value above 12 tells which); set "
                "data.date_format (e.g. '%m/%d/%Y' or '%d/%m/%Y') or write ISO dates (YYYY-MM-DD)"
            )


def read_csv(
    con,
    path: Path,
    name: str,
    date_format: str | None = None,
    timestamp_format: str | None = None,
    view: str | None = None,
) -> ibis.Table:
    """A CSV file read by DuckDB. Dates written like ``10/02/2025`` are read with
    ``date_format`` / ``timestamp_format`` when given (files with ISO dates are read as they are:
    a forced format would turn their dates into zone-aware times); without them, a column whose
    day/month order the values cannot settle is refused (:func:`_refuse_ambiguous_dates`)."""
    if (date_format or timestamp_format) and _non_iso_date_columns(con, path):
        opts = {"timestampformat": timestamp_format or f"{date_format} %H:%M:%S"}
        if date_format:
            opts["dateformat"] = date_format
        return con.read_csv(str(path), table_name=view or name, **opts)
    t = con.read_csv(str(path), table_name=view or name)
    _refuse_ambiguous_dates(con, path, name, t)
    return t


def read_file(
    con,
    path: Path,
    name: str,
    date_format: str | None = None,
    timestamp_format: str | None = None,
    view: str | None = None,
) -> ibis.Table:
    """Table ``name`` from a CSV or Parquet file (or a folder of Parquet parts, or a glob of
    files) as stored: no shop-zone cast (:meth:`DataSource.table` adds it); a clear
    :class:`DataError` when unreadable. ``date_format``/``timestamp_format``: see
    :func:`read_csv`; ``view``: the engine's name for it when not ``name``."""
    view = view or name
    if path.suffix == ".csv":
        files = sorted(path.parent.glob(path.name)) if any(c in path.name for c in "*?[") else []
        for f in files or [path]:
            check_csv_encoding(f, name)
    try:
        if path.is_dir():
            return con.read_parquet(str(path / "*.parquet"), table_name=view)
        if path.suffix == ".parquet":
            return con.read_parquet(str(path), table_name=view)
        return read_csv(con, path, name, date_format, timestamp_format, view)
    except DataError:
        raise
    except Exception as exc:  # duckdb raises many kinds; the message is what matters
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{path}: cannot read table '{name}': {first}") from exc


def _scan_folder(folder: Path) -> dict[str, Path]:
    files: dict[str, Path] = {}
    for p in sorted(folder.iterdir()):
        if p.name.startswith((".", "_")):
            continue
        if p.is_dir() and any(p.glob("*.parquet")):
            files[p.name] = p
        elif p.is_file() and p.suffix in (".parquet", ".csv"):
            files.setdefault(p.stem, p)
    return files


def _read_only(url: str) -> dict:
    """A DuckDB database file is opened read-only: the workbook never writes to the shop's data,
    and DuckDB lets one process hold a file for writing, so the CLI (which validates) and the
    notebook's kernel (which reads) could not both open it otherwise. ``duckdb://`` alone or
    ``:memory:`` is an empty in-memory database and stays writable."""
    path = url.removeprefix("duckdb://").partition("?")[0]
    return (
        {"read_only": True} if url.startswith("duckdb://") and path not in ("", ":memory:") else {}
    )


def is_backend_url(url: str) -> bool:
    """Whether ``url`` names an Ibis backend (``scheme://...``) rather than a local folder."""
    return "://" in url and not url.startswith("file://")


SPARK_CONF = {
    "spark.sql.session.timeZone": "UTC",  # times are the shop's wall-clock times, as in DuckDB
    "spark.sql.shuffle.partitions": "8",
    "spark.ui.enabled": "false",
    "spark.sql.ansi.enabled": "false",
}


@contextlib.contextmanager
def _quiet_stderr():
    """Point file descriptor 2 at /dev/null for the duration (child processes inherit it)."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _connect_spark(url: str) -> DataSource:
    """``pyspark:///path/to/folder``: a Spark session (``local[*]`` unless ``WORKBOOK_SPARK_MASTER``
    or spark-submit says otherwise) with each table of the folder registered as a view;
    ``pyspark://?database=shop``: the tables of a database in the session's catalog."""
    rest = url.removeprefix("pyspark://")
    path, _, query = rest.partition("?")
    opts = {k: v[-1] for k, v in parse_qs(query).items()}
    try:  # here on purpose: pyspark is optional (the spark extra) and starts nothing until used
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise DataError(f"data.url: {url} needs pyspark (pip install pyspark)") from exc
    builder = SparkSession.builder.appName("workbook")
    master = opts.get("master") or os.environ.get("WORKBOOK_SPARK_MASTER")
    if master:
        builder = builder.master(master)
    elif not os.environ.get("SPARK_HOME") and "spark.master" not in os.environ.get(
        "PYSPARK_SUBMIT_ARGS", ""
    ):
        builder = builder.master("local[*]")
    log4j = Path(__file__).resolve().parents[1] / "templates" / "spark" / "log4j2.properties"
    builder = builder.config(
        "spark.driver.extraJavaOptions", f"-Dlog4j.configurationFile={log4j.as_uri()}"
    ).config("spark.ui.showConsoleProgress", "false")
    for k, v in SPARK_CONF.items():
        builder = builder.config(k, v)
    if path and "spark.sql.warehouse.dir" not in os.environ.get("PYSPARK_SUBMIT_ARGS", ""):
        # a folder of files needs no warehouse: without this Spark creates ./spark-warehouse in
        # whatever folder the run started from (the notebooks folder, the project)
        home = Path(tempfile.gettempdir()) / f"workbook-spark-warehouse-{os.getuid()}"
        builder = builder.config("spark.sql.warehouse.dir", str(home))
    try:
        with _quiet_stderr():  # the JVM launcher's banner; errors still come back as exceptions
            session = builder.getOrCreate()
        session.sparkContext.setLogLevel("ERROR")
        con = ibis.pyspark.connect(session)
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"data.url: cannot start Spark for {url}: {first}") from exc
    if "database" in opts:
        try:
            session.catalog.setCurrentDatabase(opts["database"])
        except Exception as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise DataError(
                f"data.url: no database '{opts['database']}' in Spark: {first}"
            ) from exc
    src = DataSource(url=url, con=con)
    if path:
        folder = Path(path)
        if not folder.is_dir():
            raise DataError(f"data.url: folder not found: {folder}")
        for name, f in _scan_folder(folder).items():
            try:
                if f.is_dir() or f.suffix == ".parquet":
                    con.read_parquet(str(f), table_name=name)
                else:
                    con.read_csv(str(f), table_name=name, header=True, inferSchema=True)
            except Exception as exc:
                first = str(exc).strip().splitlines()[0]
                raise DataError(f"{f}: cannot read table '{name}': {first}") from exc
    return src


def _wall_clock(t: ibis.Table) -> ibis.Table:
    """Time-zone-aware timestamp columns as wall-clock times in the session's time zone (set by
    :func:`connect`), so that days, weeks and period bounds are the shop's own whatever the
    machine's zone; columns without a zone are left as they are."""
    aware = {
        c: t[c].cast(dt.Timestamp(scale=typ.scale))
        for c, typ in t.schema().items()
        if typ.is_timestamp() and typ.timezone is not None
    }
    return t.mutate(**aware) if aware else t


def _set_timezone(con, backend: str, timezone: str, url: str) -> None:
    """Set the session time zone of a DuckDB connection. Other backends keep theirs (Ibis runs
    Spark sessions in UTC), which is only allowed when the shop's zone is UTC."""
    if backend == "duckdb":
        con.raw_sql(f"SET TimeZone = '{timezone}'")  # a validated IANA name
    elif timezone != "UTC":
        raise DataError(
            f"data.timezone: {timezone} needs a DuckDB source (a folder or duckdb:// URL); "
            f"convert the times to the shop's zone in {url.split('://')[0]} and leave "
            "data.timezone at UTC"
        )


_SECRET_KEYS = ("password", "passwd", "pwd", "secret", "token", "key", "credentials")


def redact_url(url: str) -> str:
    """``url`` with its password masked, for anything a person or a file will see (messages,
    results.json, reports): ``postgres://analyst:s3cret@host/db`` ->
    ``postgres://analyst:***@host/db``; query values that carry secrets (``password=``,
    ``token=``, ``...key=``) are masked too. Folders and URLs without secrets pass unchanged."""
    return _redact(url)[0]


def _redact(url: str) -> tuple[str, list[str]]:
    """(``url`` with its secrets masked, the secrets)."""
    if "://" not in url:
        return url, []
    secrets: list[str] = []
    scheme, _, rest = url.partition("://")
    head, qmark, query = rest.partition("?")
    # user:password@host: the password runs to the last '@' before the query (it may hold '@'
    # or '/'); a path (pyspark:///data, duckdb:///x.db) has no user part
    at = head.rfind("@")
    user, colon, password = head[:at].partition(":") if at > 0 else ("", "", "")
    if colon and not user.startswith("/"):
        head = f"{user}:***{head[at:]}"
        secrets.append(password)

    def mask(m: re.Match) -> str:
        secrets.append(m.group(3))
        return f"{m.group(1)}{m.group(2)}=***"

    if query:
        keys = "|".join(_SECRET_KEYS)
        query = re.sub(rf"(?i)(^|[&;])([^=&;]*(?:{keys})[^=&;]*)=([^&;]*)", mask, query)
    return f"{scheme}://{head}{qmark}{query}", [x for x in secrets if x]


def redact_params(params: dict) -> dict:
    """A copy of a params mapping with ``data.url`` masked (:func:`redact_url`), for results.json
    and the report's provenance footer; the notebook itself still connects with the real URL."""
    data = params.get("data") if isinstance(params, dict) else None
    if not isinstance(data, dict) or not isinstance(data.get("url"), str):
        return params
    return {**params, "data": {**data, "url": redact_url(data["url"])}}


def redact_text(text: str, url: str) -> str:
    """``text`` (an error message) with ``url`` and its secrets masked wherever they appear,
    also inside a driver's own message that quotes them."""
    redacted, secrets = _redact(url)
    out = str(text).replace(url, redacted)
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= 3:  # a one- or two-character password would mask unrelated text
            out = out.replace(secret, "***")
    return out


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def connect(
    url,
    timezone: str = "UTC",
    date_format: str | None = None,
    timestamp_format: str | None = None,
) -> DataSource:
    """Open the data source at ``url``: a folder of Parquet/CSV files or an Ibis backend URL, or
    a params file's ``data`` (:class:`~analysis_lib.params.DataSpec`), whose fields then give all
    the rest (``data.connect(P.data)``: a new field reaches every notebook without editing it).
    ``timezone``: the shop's time zone, set as DuckDB's session zone (so results never depend on
    the machine's zone); other backends accept only UTC (:func:`_set_timezone`).
    ``date_format``/``timestamp_format``: how non-ISO dates are written in the folder's CSV files
    (:func:`read_csv`). Errors and :attr:`DataSource.url` show the URL with its password masked.
    A spec's ``tables``/``sources`` (a shop profile's mappings, :mod:`analysis_lib.core.profile`)
    make its mapped tables the source's canonical ones: each compiled to a view when first read."""
    spec = None
    if not isinstance(url, str):
        spec = url
        url, timezone = spec.url, spec.timezone
        date_format, timestamp_format = spec.date_format, spec.timestamp_format
    try:
        if url.startswith("pyspark://"):
            src = _connect_spark(url)
        elif is_backend_url(url):
            try:
                con = ibis.connect(url, **_read_only(url))
            except Exception as exc:
                raise DataError(f"data.url: cannot connect to {url}: {_first_line(exc)}") from exc
            src = DataSource(url=redact_url(url), con=con)
        else:
            folder = Path(url.removeprefix("file://")).expanduser()
            if not folder.exists():
                raise DataError(f"data.url: folder not found: {folder}")
            if not folder.is_dir():
                raise DataError(f"data.url: not a folder: {folder}")
            con = ibis.duckdb.connect()
            src = DataSource(url=str(folder), con=con, folder=folder, _files=_scan_folder(folder))
        _set_timezone(src.con, src.con.name, timezone, url)
    except DataError as exc:
        raise DataError(redact_text(str(exc), url)) from exc.__cause__
    src.url = redact_url(src.url)
    src.date_format, src.timestamp_format = date_format, timestamp_format
    if spec is not None:
        src.tables = dict(getattr(spec, "tables", None) or {})
        src.sources = dict(getattr(spec, "sources", None) or {})
        src.profile = getattr(spec, "profile", None)
    return src


def check_table(source: DataSource, table: str, columns: list[str] | None = None) -> None:
    """Check that ``table`` exists and has the required canonical ``columns`` with right types.

    ``columns`` defaults to all required columns of the canonical model for that table; extra
    columns are allowed and kept.
    """
    if not source.has(table):
        raise DataError(f"{source.url}: table '{table}' not found (needed by this notebook)")
    t = source.table(table)
    canon = CANONICAL.get(table, {})
    wanted = columns if columns is not None else list(canon)
    schema = t.schema()
    for col in wanted:
        if col not in schema:
            raise DataError(
                f"{source.where(table)}: table '{table}' is missing required column '{col}'"
            )
        kind = canon.get(col)
        if kind and not _KIND_OK[kind](schema[col]):
            if int(source.execute(t.count())) == 0:  # a header-only CSV reads as text columns
                raise DataError(f"{source.where(table)}: table '{table}' is empty (no rows)")
            raise DataError(
                f"{source.where(table)}: column '{table}.{col}' has type {schema[col]}, "
                f"expected {_KIND_NAME[kind]}{_date_hint(source, table, col, kind)}"
            )
    for col, kind in OPTIONAL_TYPED.get(table, {}).items():
        if col in schema and not _KIND_OK[kind](schema[col]):
            raise DataError(
                f"{source.where(table)}: column '{table}.{col}' has type {schema[col]}, "
                f"expected {_KIND_NAME[kind]}"
            )


def _date_hint(source: DataSource, table: str, col: str, kind: str) -> str:
    """For a CSV date or time column read as text because its dates are written like
    ``10/15/2025`` (or ``10/15/2025 10:00``, a form DuckDB does not guess): how to read it."""
    path = source._files.get(table) if source.folder is not None else None
    if kind not in ("ts", "date") or path is None or path.suffix != ".csv":
        return ""
    example = _non_iso_date_columns(source.con, path).get(col)
    if example is None:
        return ""
    if source.date_format and kind == "date":
        return f" (values like {example!r}): data.date_format {source.date_format!r} does not read them"
    if source.date_format or source.timestamp_format:
        ts = source.timestamp_format or f"{source.date_format} %H:%M:%S"
        return f" (values like {example!r}): data.timestamp_format {ts!r} does not read them"
    return (
        f" (values like {example!r}, not ISO): set data.date_format (e.g. '%m/%d/%Y'; times are "
        "then read as '<date> %H:%M:%S' unless data.timestamp_format says otherwise) or write "
        "ISO dates (YYYY-MM-DD)"
    )


def check_tables(
    source: DataSource,
    required: dict[str, list[str] | None],
    optional: dict[str, list[str] | None] | None = None,
) -> None:
    """Check every table a notebook needs (``required``) and those it uses when present."""
    for table, cols in required.items():
        check_table(source, table, cols)
    for table, cols in (optional or {}).items():
        if source.has(table):
            check_table(source, table, cols)


def fingerprint(url, files=(), source: bool = True) -> str:
    """A short fingerprint of the data: for a folder, a hash of each file's name, size and its
    first and last 64 KiB (cheap on 10^8-row files, changes whenever a file does); for a backend
    URL, a hash of the URL without credentials. Given a params file's ``data`` (a
    :class:`~analysis_lib.params.DataSpec`) with a shop profile's mappings, the mappings are
    hashed in too (the same files mapped otherwise are other figures). ``files`` (a series or
    controls file the params name) are hashed in the same way; ``source=False`` leaves the data
    source out (a run that reads no table of it). Use :func:`run_fingerprint` for a run."""
    h = hashlib.sha256()
    for f in files:  # by file name: the same file written relative or absolute is the same data
        p = Path(str(f).removeprefix("file://"))
        if p.is_file():
            _hash_file(h, p, p.name)
    if not source and files:
        return "sha256:" + h.hexdigest()[:16]
    if not isinstance(url, str):
        spec, url = url, url.url
        if getattr(spec, "tables", None) or getattr(spec, "sources", None):
            h.update(_profile.digest(spec.tables, spec.sources).encode())
    if is_backend_url(url):
        scheme, _, rest = url.partition("://")
        h.update((scheme + "://" + rest.split("@")[-1]).encode())
        return "url:" + h.hexdigest()[:16]
    folder = Path(url.removeprefix("file://"))
    for p in sorted(folder.rglob("*")):
        if not p.is_file() or p.suffix not in (".parquet", ".csv"):
            continue
        _hash_file(h, p, str(p.relative_to(folder)))
    return "sha256:" + h.hexdigest()[:16]


def run_fingerprint(params) -> str:
    """The fingerprint of what a run reads (its provenance footer and results.json): the files
    its params name (``input_paths``: a series, a controls file) and the data source when it
    reads a table of it. A run that reads only its series file (intervention_impact) is the
    fingerprint of that file, not of the folder ``data.url`` names beside it."""
    return fingerprint(params.data, files=params.input_paths(), source=bool(params.tables_read()))


def _hash_file(h, p: Path, name: str) -> None:
    """Hash ``name``, the size and the first and last 64 KiB of the file ``p`` into ``h``."""
    size = p.stat().st_size
    h.update(f"{name}:{size}".encode())
    with p.open("rb") as f:
        h.update(f.read(65536))
        if size > 65536:
            f.seek(max(size - 65536, 65536))
            h.update(f.read(65536))


def month_key(values, where: str):
    """A ``period`` column (targets, market) as ``YYYY-MM`` text: months as text, ISO dates or
    timestamps (their month) and date columns are accepted; a year alone (``YYYY``, an annual
    target) stays a year. Anything else is a one-line :class:`DataError` naming ``where`` and the
    first value that is neither."""
    s = pd.Series(values)
    if pd.api.types.is_datetime64_any_dtype(s):
        return s.dt.strftime("%Y-%m")
    text = s.astype("string").str.strip()
    year = text.str.fullmatch(r"\d{4}").fillna(False)
    parsed = pd.to_datetime(text.where(~year), errors="coerce", format="ISO8601")
    # ISO 8601 also reads "2025" as its January: a month must be written as one
    parsed = parsed.where(text.str.match(r"^\d{4}[-/]\d{1,2}(?:$|[-/T ])").fillna(False))
    out = parsed.dt.strftime("%Y-%m").where(~year, text)
    bad = text[out.isna() & text.notna()]
    if len(bad) or s.isna().any():
        first = bad.iloc[0] if len(bad) else None
        raise DataError(
            f"{where}: period {first!r} is not a month or a year; write YYYY-MM (or a date in "
            "that month), or YYYY"
        )
    return out.astype(object)


def as_date_bounds(start, end) -> tuple:
    """Inclusive date period -> half-open timestamp bounds ``[start 00:00, end+1 00:00)``."""
    lo = pd.Timestamp(start)
    hi = pd.Timestamp(end) + pd.Timedelta(days=1)
    return lo.to_pydatetime(), hi.to_pydatetime()
