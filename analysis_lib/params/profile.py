"""A shop profile: one file per shop that every params file of the shop names (``shop: ...``).

::

    shop: {name: Olist, currency: BRL, timezone: America/Sao_Paulo, lang: en}
    data: {url: .}           # relative to the profile's folder; any key of a params file's data
    sources: {...}           # optional: raw files or tables named for the tables' SQL
    tables: {...}            # optional: canonical table -> its mapping (analysis_lib.core.profile)

A file is a profile by its content: a ``shop:`` mapping and no ``notebook:`` (so ``run-all`` over
a folder skips it and ``workbook validate`` checks it). :func:`merge` puts it into a params
mapping before validation: the profile supplies ``data`` (key by key), ``currency``, ``lang`` and
``data.timezone`` unless the params file sets them itself; params win.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator, model_validator

from analysis_lib.core.data import CANONICAL, is_backend_url
from analysis_lib.core.profile import SOURCE_NAME, Source, TableMap
from analysis_lib.params.base import DataSpec, ShopInfo, Strict


class ProfileData(DataSpec):
    """A profile's ``data``: where the shop's files or warehouse are (mappings go in ``tables``,
    beside it, not here)."""

    @model_validator(mode="after")
    def _no_mappings(self) -> ProfileData:
        for key in ("tables", "sources", "profile"):
            if key in self.model_fields_set:
                raise ValueError(f"'{key}' goes at the top level of a profile, not under data")
        return self


class Profile(Strict):
    """A shop profile file (see the module docstring)."""

    shop: ShopInfo
    data: ProfileData
    sources: dict[str, Source] = Field(default_factory=dict)
    tables: dict[str, TableMap] = Field(default_factory=dict)

    @field_validator("sources")
    @classmethod
    def _names(cls, v: dict[str, Source]) -> dict[str, Source]:
        for name in v:
            if not re.match(SOURCE_NAME, name):
                raise ValueError(f"source name '{name}' must be letters, digits and _ only")
        return v

    @field_validator("tables")
    @classmethod
    def _canonical(cls, v: dict[str, TableMap]) -> dict[str, TableMap]:
        """A table name close to a canonical one is a typo; other names are the shop's own
        tables (an A/B unit table, a control series). A canonical column name mistyped in
        ``columns`` is refused likewise."""
        known = sorted(CANONICAL)
        for name, m in v.items():
            if name not in CANONICAL:
                near = difflib.get_close_matches(name, known, n=1, cutoff=0.8)
                if near:
                    raise ValueError(f"unknown table '{name}' (did you mean '{near[0]}'?)")
                continue
            canon = list(CANONICAL[name])
            given = set(m.columns) | set(m.derive)
            for col in m.columns:
                if col in canon:
                    continue
                near = difflib.get_close_matches(col, canon, n=1, cutoff=0.8)
                if near and near[0] not in given:
                    raise ValueError(
                        f"table '{name}': unknown column '{col}' (did you mean '{near[0]}'?)"
                    )
        return v

    @model_validator(mode="after")
    def _one_zone(self) -> Profile:
        tz = self.shop.timezone
        if tz and "timezone" in self.data.model_fields_set and self.data.timezone != tz:
            raise ValueError(
                f"shop.timezone {tz} and data.timezone {self.data.timezone} differ; keep one"
            )
        return self


def is_profile(doc: Any) -> bool:
    """Whether a YAML mapping is a shop profile: a ``shop:`` mapping and no ``notebook:``."""
    return isinstance(doc, dict) and isinstance(doc.get("shop"), dict) and "notebook" not in doc


def absolute_url(url: str, base: Path) -> str:
    """A profile's folder URL, or the file of a ``duckdb://`` URL, made absolute against the
    profile's folder (``duckdb://shop.duckdb`` beside the profile); other backend URLs as they
    are."""
    if url.startswith("duckdb://"):
        path, sep, query = url.removeprefix("duckdb://").partition("?")
        if path and path != ":memory:" and not path.startswith(("/", "~")):
            return f"duckdb://{(base / path).resolve()}{sep}{query}"
        return url
    if is_backend_url(url):
        return url
    p = Path(url.removeprefix("file://")).expanduser()
    return str(p if p.is_absolute() else (base / p).resolve())


def merge(doc: dict[str, Any], prof: Profile, path: Path) -> dict[str, Any]:
    """``doc`` (a params mapping) with profile ``prof`` (read from ``path``) merged in: its
    ``shop``, its ``data`` under the params' own ``data`` keys, and ``currency``, ``lang`` and
    the time zone where the params do not set them."""
    out = dict(doc)
    out["shop"] = prof.shop.model_dump(mode="json", exclude_none=True)
    data = prof.data.model_dump(mode="json", exclude_unset=True)
    data["url"] = absolute_url(prof.data.url, path.parent)
    if prof.shop.timezone:
        data["timezone"] = prof.shop.timezone
    data["tables"] = {
        k: m.model_dump(mode="json", exclude_none=True) for k, m in prof.tables.items()
    }
    data["sources"] = {
        k: s.model_dump(mode="json", exclude_none=True) for k, s in prof.sources.items()
    }
    data["profile"] = str(path)
    own = doc.get("data")
    out["data"] = {**data, **own} if isinstance(own, dict) else (own if "data" in doc else data)
    for key in ("currency", "lang"):
        value = getattr(prof.shop, key)
        if key not in doc and value is not None:
            out[key] = value
    return out
