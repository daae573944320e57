"""Mappings from a shop's own tables to the canonical ones, compiled to engine views.

A shop profile (``params/loading.py`` reads it) says, per canonical table, where its rows come
from and how its columns are named::

    tables:
      orders:
        source: olist_orders_dataset.csv        # a file or glob of the data folder, a source name,
                                                # {table: ods.orders} or {sql: "SELECT ..."}
        columns: {user_id: customer_unique_id}  # canonical column: the source's column
        values: {status: {paid: [delivered, shipped], cancelled: [canceled]}}
        derive: {gmv: "price + freight_value"}  # an SQL expression over the source's columns

and ``sources:`` names raw files or tables for the ``{sql: ...}`` sources to join (in a data
folder, every file is also known by its name without the extension). SQL is written in DuckDB's
dialect; on another backend Ibis transpiles it (sqlglot) to the engine's.

:func:`build_select` turns one mapping into one SELECT: renamed columns, recoded values (a value
no rule names is kept as written, so the data-quality section still counts an unknown status),
derived columns, then every other column of the source as it is. On DuckDB (a folder or a
``duckdb://`` file) :class:`~analysis_lib.core.data.DataSource` creates a temporary view of it,
nothing copied; on another backend it is an Ibis expression (``con.sql``). Errors name the
profile, the table and the column: :class:`DataError` (exit 3) for what the data lacks.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from typing import Annotated, Any

import duckdb
import sqlglot
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)
from sqlglot import exp

from analysis_lib.errors import DataError

SOURCE_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
RAW_PREFIX = "_wb_src_"  # views of a shop's raw files and tables (never shown as its tables)
VIEW_PREFIX = "_wb_shop_"  # the mapped canonical tables


def _one_statement(sql: str, what: str) -> duckdb.Statement:
    """``sql`` as one parsed DuckDB statement; ValueError with the parser's first line."""
    try:
        stmts = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0].removeprefix("Parser Error: ")
        raise ValueError(f"invalid SQL {what}: {first}") from None
    if len(stmts) != 1:
        raise ValueError(f"{what} must be one SQL statement, got {len(stmts)}")
    return stmts[0]


def check_expression(expr: str) -> str:
    """A derived column's SQL expression: one expression that DuckDB's parser reads."""
    stmt = _one_statement(f"SELECT {expr}", "expression")
    if stmt.type != duckdb.StatementType.SELECT:  # e.g. "1; DROP TABLE x" has two statements
        raise ValueError("must be one SQL expression")
    return expr


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Source(_Strict):
    """Where a table's rows come from: exactly one of ``file`` (a file or glob under the data
    folder, or a name of the profile's ``sources:``; written as a plain string), ``table`` (a
    table of the backend, ``schema.table`` allowed; in a data folder a file's name without its
    extension) or ``sql`` (one SELECT in DuckDB SQL over the sources' names)."""

    file: str | None = Field(default=None, min_length=1, max_length=1000)
    table: str | None = Field(default=None, min_length=1, max_length=300)
    sql: str | None = Field(default=None, min_length=1, max_length=20000)

    @model_validator(mode="before")
    @classmethod
    def _plain_file(cls, v: Any) -> Any:
        return {"file": v} if isinstance(v, str) else v

    @field_validator("sql")
    @classmethod
    def _a_select(cls, v: str | None) -> str | None:
        if v is not None and _one_statement(v, "query").type != duckdb.StatementType.SELECT:
            raise ValueError("must be a SELECT query")
        return v

    @field_validator("file")
    @classmethod
    def _inside(cls, v: str | None) -> str | None:
        if v is not None and ("\0" in v or ".." in v.split("/") or v.startswith(("/", "~"))):
            raise ValueError("a file under the data folder: relative, no '..', no NUL byte")
        return v

    @model_validator(mode="after")
    def _exactly_one(self) -> Source:
        given = [k for k in ("file", "table", "sql") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of a file name, {table: name} or {sql: query}"
                + (f" (got {', '.join(given)})" if given else "")
            )
        return self

    def label(self) -> str:
        """How messages name it."""
        if self.file is not None:
            return self.file
        return f"table {self.table}" if self.table is not None else "the source's query"


Value = str | int | float | bool
Expression = Annotated[str, Field(min_length=1, max_length=5000), AfterValidator(check_expression)]


class TableMap(_Strict):
    """One canonical table from the shop's own: ``source``, ``columns`` (canonical: source
    column), ``values`` (per column: canonical value: the source's values) and ``derive``
    (canonical column: SQL expression over the source's columns)."""

    source: Source
    columns: dict[str, str] = Field(default_factory=dict)
    values: dict[str, dict[str, list[Value]]] = Field(default_factory=dict)
    derive: dict[str, Expression] = Field(default_factory=dict)

    @field_validator("values")
    @classmethod
    def _one_target(cls, v: dict[str, dict[str, list[Value]]]) -> dict[str, dict[str, list]]:
        for col, rules in v.items():
            seen: dict[str, str] = {}
            for target, raws in rules.items():
                for raw in raws:
                    key = _text(raw)
                    if key in seen and seen[key] != target:
                        raise ValueError(
                            f"column '{col}': value {key!r} is mapped to both "
                            f"'{seen[key]}' and '{target}'"
                        )
                    seen[key] = target
        return v

    @model_validator(mode="after")
    def _once(self) -> TableMap:
        both = sorted(set(self.columns) & set(self.derive))
        if both:
            raise ValueError(f"column '{both[0]}' is both in columns and in derive; keep one")
        return self


def _text(v: Value) -> str:
    """A value as the engine's text cast writes it (a YAML ``true`` is ``'true'``)."""
    return str(v).lower() if isinstance(v, bool) else str(v)


def digest(tables: dict[str, TableMap], sources: dict[str, Source]) -> str:
    """A short hash of the mappings (for the data fingerprint: a changed mapping changes the
    figures as surely as a changed file)."""
    doc = {
        "tables": {k: v.model_dump(mode="json") for k, v in sorted(tables.items())},
        "sources": {k: v.model_dump(mode="json") for k, v in sorted(sources.items())},
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16]


def _near(name: str, names: list[str]) -> str:
    near = difflib.get_close_matches(name, names, n=1)
    return f" (did you mean '{near[0]}'?)" if near else ""


def _first(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class Resolver:
    """Turns source names into relations of the engine, reading a raw file of the data folder
    as a view on first use (:meth:`~analysis_lib.core.data.DataSource.register_raw`); ``where``
    names the profile and mapping in messages."""

    def __init__(self, src, where: str) -> None:
        self.src = src
        self.where = where

    def file(self, name: str, field: str, named: bool = True) -> exp.Expression:
        """A file or glob under the data folder, or (``named``) a name of ``sources:``."""
        if named and name in self.src.sources:
            return self.named(name, field)
        if self.src.folder is None:
            raise DataError(
                f"{self.where}.{field}: source file '{name}' needs a data folder as data.url "
                f"(on {self.src.url.split('://')[0]}, write {{table: name}} or {{sql: ...}})"
            )
        return exp.to_table(self.src.register_raw(name, f"{self.where}.{field}"))

    def table(self, name: str, field: str) -> exp.Table:
        """A table of the backend, or in a data folder a file by its name."""
        if self.src.folder is not None:
            stems = sorted(self.src._files)
            if name not in stems:
                raise DataError(
                    f"{self.where}.{field}: no table '{name}' in {self.src.url}{_near(name, stems)}"
                )
            path = self.src._files[name].name
            return exp.to_table(self.src.register_raw(path, f"{self.where}.{field}"))
        return exp.to_table(name, dialect="duckdb")

    def named(self, name: str, field: str, seen: tuple = ()) -> exp.Expression:
        """A name of ``sources:`` (``seen``: the names whose SQL led here)."""
        s = self.src.sources[name]
        res = Resolver(self.src, f"{self.src.profile_label()}: sources")
        if s.sql is not None:
            return exp.Subquery(this=res.query(s.sql, name, (*seen, name)))
        if s.table is not None:
            return res.table(s.table, name)
        return res.file(s.file, name, named=False)

    def query(self, sql: str, field: str, seen: tuple = ()) -> exp.Expression:
        """``sql`` with each table name it reads that names a source (``sources:``, or a file
        of the data folder) replaced by that source's relation."""
        tree = _parse(sql, f"{self.where}.{field}")
        ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}
        stems = set(self.src._files) if self.src.folder is not None else set()
        for node in list(tree.find_all(exp.Table)):
            name = node.name
            if node.db or node.catalog or not isinstance(node.this, exp.Identifier):
                continue
            if name in ctes:
                continue
            if name in self.src.sources:
                if name in seen:
                    raise DataError(f"{self.where}.{field}: source '{name}' refers to itself")
                rel = self.named(name, field, seen)
            elif name in stems:
                path = self.src._files[name].name
                rel = exp.to_table(self.src.register_raw(path, f"{self.where}.{field}"))
            else:
                continue
            rel = rel.copy()
            rel.set("alias", exp.TableAlias(this=exp.to_identifier(node.alias or name)))
            node.replace(rel)
        return tree


def _parse(sql: str, where: str) -> exp.Expression:
    """``sql`` as a sqlglot tree (DuckDB dialect); what DuckDB reads and sqlglot cannot is a
    one-line :class:`DataError`."""
    try:
        return sqlglot.parse_one(sql, read="duckdb")
    except sqlglot.errors.SqlglotError as exc:
        raise DataError(f"{where}: cannot translate this SQL: {_first(exc)}") from exc


def _col(name: str) -> exp.Column:
    return exp.column(name, quoted=True)


def _recode(value: exp.Expression, rules: dict[str, list[Value]]) -> exp.Expression:
    """``CASE WHEN CAST(v AS VARCHAR) IN (...) THEN 'target' ... ELSE CAST(v AS VARCHAR) END``:
    values no rule names are kept as written."""
    text = exp.cast(value.copy(), "VARCHAR")
    case = exp.Case()
    for target, raws in rules.items():
        cond = text.copy().isin(*[exp.Literal.string(_text(r)) for r in raws])
        case = case.when(cond, exp.Literal.string(target))
    return case.else_(text)


def build_select(src, name: str) -> tuple[str, dict[str, str]]:
    """The DuckDB SELECT of mapped table ``name`` of ``src`` and its derived columns' SQL (to
    name the one that fails); one-line :class:`DataError` naming the profile, table and column
    when the source lacks a mapped column."""
    m: TableMap = src.tables[name]
    where = f"{src.profile_label()}: tables.{name}"
    res = Resolver(src, where)
    s = m.source
    if s.sql is not None:
        rel: exp.Expression = exp.Subquery(this=res.query(s.sql, "source.sql"))
    elif s.table is not None:
        rel = res.table(s.table, "source.table")
    else:
        rel = res.file(s.file, "source")
    rel = rel.copy()
    rel.set("alias", exp.TableAlias(this=exp.to_identifier("_wb_src")))
    probe = exp.select("*").from_(rel.copy()).limit(0).sql("duckdb")
    try:
        have = list(src.con.sql(probe, dialect="duckdb").schema())
    except DataError:
        raise
    except Exception as exc:  # the engine's many kinds: its first line says what
        field = "source.sql" if s.sql is not None else "source"
        raise DataError(f"{where}.{field}: {_first(exc)}") from exc
    label = s.label()
    if s.file is not None and s.file in src.sources:
        label = f"source '{s.file}' ({src.sources[s.file].label()})"
    out: dict[str, exp.Expression] = {}
    for canon, col in m.columns.items():
        if col not in have:
            raise DataError(
                f"{where}.columns.{canon}: column '{col}' is not in {label}{_near(col, have)}"
            )
        out[canon] = _col(col)
    derived = {}
    for canon, expr in m.derive.items():
        out[canon] = _parse(expr, f"{where}.derive.{canon}")
        derived[canon] = expr
    for canon, rules in m.values.items():
        if canon in out:
            base = out[canon]
        elif canon in have:
            base = _col(canon)
        else:
            raise DataError(
                f"{where}.values.{canon}: no column '{canon}' to recode (map it in columns, "
                f"derive it, or name a column of {label})"
            )
        out[canon] = _recode(base, rules)
    renamed = set(m.columns.values())
    rest = [c for c in have if c not in renamed and c not in out]
    items = [exp.alias_(e, canon, quoted=True) for canon, e in out.items()]
    items += [_col(c) for c in rest]
    if not items:
        raise DataError(f"{where}: {label} has no columns")
    return exp.select(*items).from_(rel).sql("duckdb"), derived


def view_name(name: str) -> str:
    """The engine view of mapped table ``name``."""
    return VIEW_PREFIX + re.sub(r"\W", "_", name)


def build_table(src, name: str):
    """Mapped table ``name`` as an Ibis table: a temporary view on DuckDB, ``con.sql`` on other
    backends (DuckDB SQL transpiled to the engine's)."""
    sql, derived = build_select(src, name)
    where = f"{src.profile_label()}: tables.{name}"
    if src.con.name != "duckdb":
        try:
            return src.con.sql(sql, dialect="duckdb")
        except Exception as exc:
            raise DataError(f"{where}: {_first(exc)}") from exc
    view = view_name(name)
    try:
        src.con.raw_sql(f'CREATE OR REPLACE TEMP VIEW "{view}" AS {sql}')
    except Exception as exc:
        raise DataError(f"{where}{_failing_part(src, name, derived)}: {_first(exc)}") from exc
    return src.con.table(view)


def _failing_part(src, name: str, derived: dict[str, str]) -> str:
    """Which derived column's expression the engine refuses (``.derive.gmv``), else ''."""
    m: TableMap = src.tables[name]
    for canon, expr in derived.items():
        only = m.model_copy(update={"derive": {canon: expr}, "values": {}})
        saved = src.tables[name]
        src.tables[name] = only
        try:
            sql, _ = build_select(src, name)
            src.con.sql(sql, dialect="duckdb").schema()
        except Exception:  # noqa: BLE001 - this is the one
            return f".derive.{canon}"
        finally:
            src.tables[name] = saved
    return ""
