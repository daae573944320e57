"""The data layer: connect to a source, expose Ibis tables, check them against the canonical model.

A source is either a folder of Parquet/CSV files, read through an in-process DuckDB (nothing to
start), or any Ibis backend URL (``duckdb://``, ``postgres://``, ``pyspark://``...), passed through
to :func:`ibis.connect`. In a folder, a table is a file ``<table>.parquet`` / ``<table>.csv`` or a
sub-folder ``<table>/`` of Parquet parts (how the large sample data is written).
"""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import ibis
import ibis.expr.datatypes as dt

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

_KIND_OK = {
    "id": lambda t: t.is_string(),
    "text": lambda t: t.is_string(),
    "ts": lambda t: t.is_timestamp(),
    "date": lambda t: t.is_date() or t.is_timestamp(),
    "num": lambda t: t.is_numeric(),
    "month": lambda t: t.is_string() or t.is_date() or t.is_timestamp(),
}
_KIND_NAME = {
    "id": "string",
    "text": "string",
    "ts": "timestamp",
    "date": "date",
    "num": "number",
    "month": "month (YYYY-MM or YYYY text, or a date)",
}


@dataclass
class DataSource:
    """An open data source: ``table(name)`` gives an Ibis table expression."""

    url: str
    con: object
    folder: Path | None = None
    _files: dict[str, Path] = field(default_factory=dict)
    _cache: dict[str, ibis.Table] = field(default_factory=dict)
    # intermediate results an analysis computes once per run and reuses (engine temp tables)
    memo: dict[tuple, ibis.Table] = field(default_factory=dict)

    def names(self) -> list[str]:
        """Names of the tables this source holds."""
        if self.folder is not None:
            return sorted(self._files)
        return sorted(self.con.list_tables())

    def has(self, name: str) -> bool:
        """Whether the source holds table ``name``."""
        return name in self.names()

    def where(self, name: str) -> str:
        """Where table ``name`` lives, for error messages (a file path or ``url#table``)."""
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
        if self.folder is None:
            t = self.con.table(name)
        else:
            t = read_file(self.con, self._files[name], name)
        t = _wall_clock(t)
        self._cache[name] = t
        return t

    def execute(self, expr) -> object:
        """Run an Ibis expression on this source's backend (pandas result)."""
        return self.con.execute(expr)


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


def read_file(con, path: Path, name: str) -> ibis.Table:
    """Table ``name`` from a CSV or Parquet file (or a folder of Parquet parts) as stored: no
    shop-zone cast (:meth:`DataSource.table` adds it); a clear :class:`DataError` when unreadable."""
    if path.suffix == ".csv":
        check_csv_encoding(path, name)
    try:
        if path.is_dir():
            return con.read_parquet(str(path / "*.parquet"), table_name=name)
        if path.suffix == ".parquet":
            return con.read_parquet(str(path), table_name=name)
        return con.read_csv(str(path), table_name=name)
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
    import os
    import sys

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
    import os
    from urllib.parse import parse_qs

    rest = url.removeprefix("pyspark://")
    path, _, query = rest.partition("?")
    opts = {k: v[-1] for k, v in parse_qs(query).items()}
    try:
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
    log4j = Path(__file__).parent / "templates" / "spark" / "log4j2.properties"
    builder = builder.config(
        "spark.driver.extraJavaOptions", f"-Dlog4j.configurationFile={log4j.as_uri()}"
    ).config("spark.ui.showConsoleProgress", "false")
    for k, v in SPARK_CONF.items():
        builder = builder.config(k, v)
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


def connect(url: str, timezone: str = "UTC") -> DataSource:
    """Open the data source at ``url``: a folder of Parquet/CSV files or an Ibis backend URL.
    ``timezone``: the shop's time zone, set as DuckDB's session zone (so results never depend on
    the machine's zone); other backends accept only UTC (:func:`_set_timezone`)."""
    if url.startswith("pyspark://"):
        src = _connect_spark(url)
    elif is_backend_url(url):
        try:
            con = ibis.connect(url)
        except Exception as exc:
            raise DataError(f"data.url: cannot connect to {url}: {exc}") from exc
        src = DataSource(url=url, con=con)
    else:
        folder = Path(url.removeprefix("file://")).expanduser()
        if not folder.exists():
            raise DataError(f"data.url: folder not found: {folder}")
        if not folder.is_dir():
            raise DataError(f"data.url: not a folder: {folder}")
        con = ibis.duckdb.connect()
        src = DataSource(url=str(folder), con=con, folder=folder, _files=_scan_folder(folder))
    _set_timezone(src.con, src.con.name, timezone, url)
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
                f"expected {_KIND_NAME[kind]}"
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


def fingerprint(url: str) -> str:
    """A short fingerprint of the data: for a folder, a hash of each file's name, size and its
    first and last 64 KiB (cheap on 10^8-row files, changes whenever a file does); for a backend
    URL, a hash of the URL without credentials."""
    h = hashlib.sha256()
    if is_backend_url(url):
        scheme, _, rest = url.partition("://")
        h.update((scheme + "://" + rest.split("@")[-1]).encode())
        return "url:" + h.hexdigest()[:16]
    folder = Path(url.removeprefix("file://"))
    for p in sorted(folder.rglob("*")):
        if not p.is_file() or p.suffix not in (".parquet", ".csv"):
            continue
        size = p.stat().st_size
        h.update(f"{p.relative_to(folder)}:{size}".encode())
        with p.open("rb") as f:
            h.update(f.read(65536))
            if size > 65536:
                f.seek(max(size - 65536, 65536))
                h.update(f.read(65536))
    return "sha256:" + h.hexdigest()[:16]


def month_key(values, where: str):
    """A ``period`` column (targets, market) as ``YYYY-MM`` text: months as text, ISO dates or
    timestamps (their month) and date columns are accepted; a year alone (``YYYY``, an annual
    target) stays a year. Anything else is a one-line :class:`DataError` naming ``where`` and the
    first value that is neither."""
    import pandas as pd

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
    import pandas as pd

    lo = pd.Timestamp(start)
    hi = pd.Timestamp(end) + pd.Timedelta(days=1)
    return lo.to_pydatetime(), hi.to_pydatetime()
