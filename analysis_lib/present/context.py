"""The report's settings (language, currency, time zone) in a context variable.

Set once per run by :func:`analysis_lib.present.bootstrap.start`; every formatter and word lookup
reads them from here instead of taking them through every call, and a test can change them in a
``with use(...)`` block without leaking into the next test (a module global would).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Literal

Lang = Literal["en", "zh"]
LANGS: tuple[Lang, ...] = ("en", "zh")


@dataclass(frozen=True)
class Settings:
    """How a report speaks: ``lang`` (en/zh), ``currency`` (ISO 4217 code; ``None`` shows money
    without a symbol), ``timezone`` (the shop's, for dates shown), ``unit`` (what its counts count)."""

    lang: Lang = "en"
    currency: str | None = None
    timezone: str = "UTC"
    # what the report's units are (the A/B report's ``unit``: users, players...), as a key of the
    # catalog's values.unit: counts read "12,000 players", not "12,000 units"
    unit: str = "units"


# Settings is frozen: sharing the default instance is safe
_SETTINGS: ContextVar[Settings] = ContextVar("workbook_report_settings", default=Settings())  # noqa: B039


def settings() -> Settings:
    """The settings in force."""
    return _SETTINGS.get()


def configure(**changes) -> Settings:
    """Change the settings for the rest of this context (a notebook run); returns them."""
    new = replace(_SETTINGS.get(), **changes)
    if new.lang not in LANGS:
        raise ValueError(f"unknown language {new.lang!r}: one of {', '.join(LANGS)}")
    _SETTINGS.set(new)
    return new


@contextlib.contextmanager
def use(**changes) -> Iterator[Settings]:
    """Settings for the ``with`` block only."""
    token = _SETTINGS.set(replace(_SETTINGS.get(), **changes))
    try:
        yield _SETTINGS.get()
    finally:
        _SETTINGS.reset(token)


def lang_of(lang: str | None) -> Lang:
    """``lang`` if given, else the report's language."""
    return lang or _SETTINGS.get().lang  # type: ignore[return-value]
