"""Importers of real shops' exports: ``workbook import KIND SRC... --out DIR``.

One module per kind (``online_retail``, ``olist``, ``shopify``, ``taobao``); each reads the raw
files into DuckDB, does its transforms in SQL, writes the canonical Parquet tables, ``shop.yaml``
(a shop profile whose data URL is the folder) and ``import.json`` (what was read, written and
decided, with counts). :mod:`.common` holds what they share. This package is at the level of
``core``: it imports nothing of the workbook above ``core`` (no words, no reports).
"""

from __future__ import annotations

import importlib
from pathlib import Path

from analysis_lib.ingest.common import ArgumentError, Import, check_out, staged, write_meta

KINDS = {
    "online-retail": "online_retail",
    "olist": "olist",
    "shopify": "shopify",
    "taobao": "taobao",
}


def run_import(
    kind: str,
    sources: list[str | Path],
    out: str | Path,
    *,
    force: bool = False,
    shop_profile: str | Path | None = None,
    name: str | None = None,
    currency: str | None = None,
    timezone: str | None = None,
    lang: str | None = None,
    gmv: str | None = None,
) -> dict:
    """Import ``sources`` of ``kind`` into the folder ``out``; the import record (import.json).
    ArgumentError (exit 2) for arguments that cannot work, DataError (exit 3) for bad data."""
    if kind not in KINDS:
        raise ArgumentError(f"import: unknown kind '{kind}' (one of {', '.join(KINDS)})")
    module = importlib.import_module(f"analysis_lib.ingest.{KINDS[kind]}")
    srcs = [Path(s) for s in sources]
    for s in srcs:
        if not s.exists():
            raise ArgumentError(f"import {kind}: {s}: no such file or folder")
    out = Path(out)
    check_out(out, srcs, force)
    profile = Path(shop_profile) if shop_profile else None
    if profile is not None and profile.exists() and not force:
        raise ArgumentError(f"--shop-profile {profile}: exists; --force to replace it")
    _check_shop_args(currency, timezone)
    imp = Import(kind=kind, sources=module.files(srcs))
    imp.options = {"gmv": gmv} if gmv else {}
    shop = dict(module.DEFAULT_SHOP)
    for key, value in (("name", name), ("currency", currency), ("timezone", timezone)):
        if value:
            shop[key] = value.upper() if key == "currency" else value
    if lang:
        shop["lang"] = lang
    imp.shop = shop
    with staged(imp, out, force) as staging:
        module.run(imp)
        record = write_meta(imp, staging)
    if profile is not None:
        from analysis_lib.ingest.common import write_profile_file

        write_profile_file(imp, profile, out, force)
    return record


def _check_shop_args(currency: str | None, timezone: str | None) -> None:
    """An ISO 4217 currency and an IANA time zone, else ArgumentError with the nearest name."""
    import difflib
    import zoneinfo

    from babel.numbers import list_currencies

    checks = (
        ("--currency", currency, sorted(list_currencies()), str.upper),
        ("--timezone", timezone, sorted(zoneinfo.available_timezones() | {"UTC"}), str),
    )
    for flag, value, known, norm in checks:
        if value and norm(value) not in known:
            near = difflib.get_close_matches(norm(value), known, n=1)
            hint = f" (did you mean '{near[0]}'?)" if near else ""
            raise ArgumentError(f"{flag} {value}: unknown{hint}")


def summary_lines(record: dict, out: str | Path) -> list[str]:
    """What an import prints: the tables written with their rows, then each decision."""
    tables = ", ".join(f"{t} {n:,}" for t, n in record["tables"].items())
    lines = [
        f"wrote {tables} rows to {out} (profile {Path(out) / 'shop.yaml'}; "
        f"decisions {Path(out) / 'import.json'}):"
    ]
    for d in record["decisions"]:
        value = f", value {d['value']:,.2f}" if "value" in d else ""
        lines.append(f"  - {d['text']}: {d['count']:,}{value}")
    return lines
