"""What every importer shares: reading a raw file into DuckDB, finding a column by any of its
spellings, the decision log, writing the canonical tables atomically, the shop profile.

An import writes into a staging folder beside ``--out`` and renames it into place at the end, so a
failed import leaves nothing half-written and an existing folder as it was. The output folder is
refused when it already holds files (unless ``force``) or lies inside a source's folder.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import yaml

from analysis_lib.errors import DataError, ParamsError

# the environment variable that fixes the salt of hashed personal ids (Shopify e-mails, Taobao
# member names) so that user ids stay the same across imports; random per import without it
SALT_ENV = "WORKBOOK_IMPORT_SALT"
NO_CATEGORY = "(none)"


class ArgumentError(ParamsError):
    """A command-line argument of ``workbook import`` that cannot work (exit 2)."""


@dataclass
class Decision:
    """One thing an import decided, with how many rows (or orders) it concerned."""

    key: str
    count: int
    text: str
    value: float | None = None

    def line(self) -> str:
        amount = "" if self.value is None else f", value {self.value:,.2f}"
        return f"{self.text}: {self.count:,}{amount}"


@dataclass
class Import:
    """One import in progress: the DuckDB connection its SQL runs in, its decisions, the tables
    it wrote (name -> rows), and the shop it describes."""

    kind: str
    sources: list[Path]
    con: duckdb.DuckDBPyConnection = field(default_factory=lambda: duckdb.connect())
    decisions: list[Decision] = field(default_factory=list)
    tables: dict[str, int] = field(default_factory=dict)
    shop: dict = field(default_factory=dict)
    options: dict = field(default_factory=dict)
    staging: Path | None = None
    copies: dict[Path, Path] = field(default_factory=dict)  # UTF-8 copies of GBK files
    gmv_column: str = "gmv"  # the export's column GMV comes from, for messages

    def decide(self, key: str, count: int, text: str, value: float | None = None) -> None:
        """Record a decision (a count of zero is recorded too: the reader sees it was checked)."""
        self.decisions.append(Decision(key, int(count or 0), text, value))

    def scalar(self, sql: str, *args):
        row = self.con.execute(sql, list(args) if args else None).fetchone()
        return None if row is None else row[0]

    def write(self, name: str, sql: str) -> int:
        """Write ``sql``'s rows as the canonical table ``name`` (Parquet) in the staging folder."""
        assert self.staging is not None
        if name == "orders":  # GMV is what the buyer paid: never negative (a refund is a status)
            neg = self.con.execute(
                f"SELECT count(*), any_value(order_id) FROM ({sql}) WHERE gmv < 0"
            ).fetchone()
            if neg[0]:
                raise DataError(
                    f"{self.sources[0]}: column '{self.gmv_column}': {neg[0]:,} orders with a "
                    f"negative amount (e.g. order {neg[1]}); GMV is what the buyer paid"
                )
        path = self.staging / f"{name}.parquet"
        self.con.execute(f"COPY ({sql}) TO {_lit(str(path))} (FORMAT parquet, COMPRESSION zstd)")
        n = int(self.scalar("SELECT count(*) FROM read_parquet(?)", str(path)))
        self.tables[name] = n
        return n


def salt() -> tuple[str, bool]:
    """The salt for hashed personal ids and whether it was fixed by the environment."""
    fixed = os.environ.get(SALT_ENV)
    return (fixed, True) if fixed else (secrets.token_hex(16), False)


def hashed_id(expr: str, salt_value: str, prefix: str) -> str:
    """SQL for a pseudonymous id of ``expr`` (sha256 of salt + the normalised value, 16 hex)."""
    quoted = salt_value.replace("'", "''")
    return f"'{prefix}' || left(sha256('{quoted}' || lower(trim({expr}))), 16)"


def most_frequent(source: str, key: str, col: str, where: str = "TRUE") -> str:
    """SQL for ``key`` and the most frequent non-null ``col`` per ``key`` in ``source`` (ties to
    the smallest value, so an import is the same every time; DuckDB's ``mode`` is not)."""
    return (
        f"(SELECT {key}, {col} FROM (SELECT {key}, {col}, count(*) AS n FROM {source} "
        f"WHERE ({where}) AND {col} IS NOT NULL GROUP BY ALL) "
        f"QUALIFY row_number() OVER (PARTITION BY {key} ORDER BY n DESC, {col}) = 1)"
    )


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    """``text`` as an SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def _norm(name: str) -> str:
    return re.sub(r"[\s_\-]", "", name).lower()


def read_raw(imp: Import, path: Path, view: str, header: bool = True) -> list[str]:
    """Register ``path`` (Parquet, CSV or TSV; any other text encoding than UTF-8 is transcoded
    from GB18030 first) as the DuckDB view ``view``; its column names."""
    suffix = path.suffix.lower()
    where = str(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    try:
        if suffix == ".parquet":
            imp.con.execute(f"CREATE VIEW {view} AS SELECT * FROM read_parquet({_lit(where)})")
        elif suffix in (".xlsx", ".xls"):
            raise DataError(
                f"{path}: Excel files are not read here; save the sheet as CSV (UTF-8) and import that"
            )
        else:
            src = utf8_copy(imp, path)
            opts = "header=true" if header else "header=false"
            imp.con.execute(
                f"CREATE VIEW {view} AS SELECT * FROM read_csv({_lit(str(src))}, {opts}, "
                "all_varchar=true, sample_size=-1)"
            )
        return [r[0] for r in imp.con.execute(f"DESCRIBE {view}").fetchall()]
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0]
        raise DataError(f"{path}: cannot read it: {first}") from None


def utf8_copy(imp: Import, path: Path) -> Path:
    """``path`` itself when it is UTF-8 (a BOM is fine), else a UTF-8 copy of it in the staging
    folder's scratch area, decoded as GB18030 (a superset of GBK, what Taobao/Tmall exports use)."""
    if path in imp.copies:
        return imp.copies[path]
    imp.copies[path] = path
    with path.open("rb") as f:
        head = f.read(1 << 20)
    try:
        head.decode("utf-8")
        return path
    except UnicodeDecodeError as exc:
        if exc.start > len(head) - 4:  # a multi-byte character cut at the end of the sample
            return path
    assert imp.staging is not None
    scratch = imp.staging.parent / f"{imp.staging.name}.scratch"
    scratch.mkdir(exist_ok=True)
    out = scratch / (hashlib.sha1(str(path).encode()).hexdigest()[:12] + ".csv")
    try:
        with (
            path.open(encoding="gb18030", newline="") as src,
            out.open("w", encoding="utf-8", newline="") as dst,
        ):
            shutil.copyfileobj(src, dst, 1 << 20)
    except UnicodeDecodeError:
        raise DataError(f"{path}: neither UTF-8 nor GBK/GB18030 text") from None
    imp.decide(f"transcoded {path.name}", 1, f"{path.name}: read as GBK/GB18030 (not UTF-8)")
    imp.copies[path] = out
    return out


def find_column(columns: list[str], names: tuple[str, ...], path: Path, required: bool = True):
    """The column of ``columns`` spelt as one of ``names`` (case, spaces and underscores
    ignored); DataError naming the file and the column when it is required and absent."""
    by_norm = {_norm(c): c for c in columns}
    for n in names:
        if _norm(n) in by_norm:
            return by_norm[_norm(n)]
    if required:
        spelt = " or ".join(f"'{n}'" for n in names)
        raise DataError(f"{path}: no column {spelt} (the file has {len(columns)} columns)")
    return None


def check_cast(
    imp: Import,
    view: str,
    col: str,
    typ: str,
    path: Path,
    expr: str | None = None,
    label: str | None = None,
):
    """DataError naming the file and the column (``label``, default ``col``) when some non-empty
    value of ``col`` does not read as ``typ`` (``expr``: the SQL that reads it, default
    ``TRY_CAST(col AS typ)``)."""
    q = quote(col)
    read = expr or f"TRY_CAST({q} AS {typ})"
    bad = imp.con.execute(
        f"SELECT count(*), any_value({q}) FROM {view} "
        f"WHERE nullif(trim(CAST({q} AS VARCHAR)), '') IS NOT NULL AND {read} IS NULL"
    ).fetchone()
    if bad[0]:
        what = {"DOUBLE": "a number", "TIMESTAMP": "a date and time"}.get(typ, typ)
        raise DataError(
            f"{path}: column '{label or col}': {bad[0]:,} values are not {what} "
            f"(e.g. {str(bad[1])[:40]!r})"
        )


# --- the output folder ------------------------------------------------------------------------


def check_out(out: Path, sources: list[Path], force: bool) -> None:
    """Refuse an output folder that holds files (without ``force``), is a file, is the folder a
    source file lies in, lies in a source folder, or holds a source (``--force`` would remove
    it): an import never writes beside the raw exports nor over them."""
    out_abs = out.resolve()
    for src in sources:
        src_abs = src.resolve()
        folder = src_abs if src.is_dir() else src_abs.parent
        inside = src.is_dir() and folder in out_abs.parents
        if out_abs == folder or inside:
            raise ArgumentError(
                f"--out {out}: the source folder {folder} (or inside it); write the tables "
                "elsewhere: an import never writes beside the raw exports"
            )
        if out_abs in src_abs.parents:
            raise ArgumentError(f"--out {out}: holds the source {src}; write the tables elsewhere")
    if out.exists() and not out.is_dir():
        raise ArgumentError(f"--out {out}: not a folder")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise ArgumentError(
            f"--out {out}: already holds files; choose an empty folder, or --force to replace them"
        )


@contextlib.contextmanager
def staged(imp: Import, out: Path, force: bool):
    """A staging folder beside ``out``; on success it replaces ``out`` (the old folder is
    removed only once the new one is in place), on any error it is removed."""
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.parent / f".{out.name}.import-{os.getpid()}"
    scratch = staging.parent / f"{staging.name}.scratch"
    for d in (staging, scratch):
        shutil.rmtree(d, ignore_errors=True)
    staging.mkdir()
    imp.staging = staging
    try:
        yield staging
        old = None
        if out.exists():
            if any(out.iterdir()) and not force:  # filled by someone else meanwhile
                raise ArgumentError(f"--out {out}: already holds files; --force to replace them")
            old = out.parent / f".{out.name}.old-{os.getpid()}"
            os.replace(out, old)
        os.replace(staging, out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        imp.con.close()
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(scratch, ignore_errors=True)


def profile_text(imp: Import, data_url: str) -> str:
    """The shop profile (``shop.yaml``) for the written tables."""
    lines = [
        f"# Shop profile written by `workbook import {imp.kind}`: the canonical tables beside it,",
        "# how they were made in import.json. Params files name it: `shop: <path to this file>`.",
    ]
    order = ("name", "currency", "timezone", "lang")
    shop = {k: imp.shop[k] for k in order if k in imp.shop}
    body = {"shop": shop, "data": {"url": data_url}}
    return "\n".join(lines) + "\n" + yaml.safe_dump(body, sort_keys=False, allow_unicode=True)


def write_meta(imp: Import, staging: Path) -> dict:
    """``import.json`` (what was read, written and decided) and ``shop.yaml`` in the staging
    folder; the record."""
    record = {
        "kind": imp.kind,
        "sources": [
            {"path": str(p), "bytes": p.stat().st_size} for p in imp.sources if p.is_file()
        ],
        "options": imp.options,
        "shop": imp.shop,
        "tables": imp.tables,
        "decisions": [
            {"key": d.key, "count": d.count, "text": d.text}
            | ({} if d.value is None else {"value": round(d.value, 2)})
            for d in imp.decisions
        ],
    }
    (staging / "import.json").write_text(
        json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    (staging / "shop.yaml").write_text(profile_text(imp, "."), encoding="utf-8")
    return record


def write_profile_file(imp: Import, profile: Path, out: Path, force: bool) -> None:
    """A second copy of the profile at ``--shop-profile``, its data URL relative to its folder."""
    if profile.exists() and not force:
        raise ArgumentError(f"--shop-profile {profile}: exists; --force to replace it")
    profile.parent.mkdir(parents=True, exist_ok=True)
    rel = os.path.relpath(out.resolve(), profile.parent.resolve())
    tmp = profile.with_name(f".{profile.name}.tmp-{os.getpid()}")
    tmp.write_text(profile_text(imp, rel), encoding="utf-8")
    os.replace(tmp, profile)


def csv_files(srcs: list[Path]) -> list[Path]:
    """The CSV files of an export: each file given, and every ``.csv`` of a folder given (sorted,
    so an import reads them in the same order every time)."""
    out: list[Path] = []
    for s in srcs:
        out += sorted(p for p in s.iterdir() if p.suffix.lower() == ".csv") if s.is_dir() else [s]
    if not out:
        raise DataError(f"{srcs[0]}: no .csv file in this folder")
    return out
