"""What every params schema shares: the strict base model, the data source, the period, dates and
local paths that can be used, the base of the notebooks' schemas, and the check that a period holds
rows.

Every params file has ``notebook``, ``title``, ``data: {url}``, ``period: {start, end}``, ``lang``
and ``currency``, then the notebook's own keys (in that notebook's module of this package). A
``shop:`` key names a shop profile (:mod:`.profile`), which supplies ``data`` (with its table
mappings), ``currency``, ``lang`` and the time zone where the params file does not set them.
"""

from __future__ import annotations

import calendar
import datetime as _dt
import difflib
import os
import re
import zoneinfo
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from babel.numbers import list_currencies
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from analysis_lib.core.data import as_date_bounds
from analysis_lib.core.profile import Source, TableMap
from analysis_lib.errors import ParamsError

# dates the data model can mean: a period end of 9999-12-31 or a start of 0001-01-01 is a typo
# (and overflows the engine's timestamps), not a request
MIN_DATE, MAX_DATE = _dt.date(1970, 1, 1), _dt.date(2100, 12, 31)


def _plausible_date(v: _dt.date) -> _dt.date:
    if not MIN_DATE <= v <= MAX_DATE:
        raise ValueError(f"is outside the dates the data can hold ({MIN_DATE} to {MAX_DATE})")
    return v


Date = Annotated[_dt.date, AfterValidator(_plausible_date)]


def check_path(v: str) -> str:
    """A local path a run reads or writes: no NUL byte (the OS cannot take it), and a leading
    ``~user`` must name a user of this machine (``expanduser`` would raise)."""
    if "\0" in v:
        raise ValueError("contains a NUL byte")
    if v.startswith("~"):
        try:
            Path(v).expanduser()
        except RuntimeError:
            raise ValueError(
                f"{v.split('/', 1)[0]}: no such user on this machine; write the full path"
            ) from None
    return v


LocalPath = Annotated[str, AfterValidator(check_path)]


class Strict(BaseModel):
    """A params model that refuses unknown keys (a typo must not pass silently) and strips the
    whitespace around text."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def known_zone(v: str) -> str:
    """An IANA time zone name, or ValueError with the nearest one."""
    zones = zoneinfo.available_timezones() | {"UTC"}
    if v not in zones:
        near = difflib.get_close_matches(v, sorted(zones), n=1)
        hint = f" (did you mean '{near[0]}'?)" if near else ""
        raise ValueError(f"unknown time zone '{v}'{hint}")
    return v


def known_currency(v: str | None) -> str | None:
    """An ISO 4217 code (upper-cased), or ValueError with the nearest one."""
    if v is None:
        return v
    codes = list_currencies()
    if v.upper() not in codes:
        near = difflib.get_close_matches(v.upper(), sorted(codes), n=1)
        hint = f" (did you mean '{near[0]}'?)" if near else ""
        raise ValueError(f"unknown currency '{v}'{hint}: an ISO 4217 code such as CNY, USD, EUR")
    return v.upper()


class DataSpec(Strict):
    """Where the data is: a folder of Parquet/CSV files or an Ibis backend URL; ``timezone``: the
    shop's time zone (IANA name), in which days and weeks of time-zone-aware timestamps are
    counted (timestamps without a zone are taken as the shop's wall-clock time). ``tables`` and
    ``sources``: a shop profile's mappings (:mod:`analysis_lib.core.profile`), put here with
    ``profile`` (the profile's path, for messages) when a params file names a ``shop:``."""

    url: str = Field(min_length=1, max_length=2000)
    timezone: str = Field(default="UTC", max_length=64)
    # how CSV files write non-ISO dates (DuckDB strptime codes, e.g. "%m/%d/%Y" for a US export);
    # without it, dates whose day/month order the values cannot settle are refused.
    # timestamp_format defaults to date_format + " %H:%M:%S".
    date_format: str | None = Field(default=None, min_length=2, max_length=64)
    timestamp_format: str | None = Field(default=None, min_length=2, max_length=64)
    tables: dict[str, TableMap] = Field(default_factory=dict)
    sources: dict[str, Source] = Field(default_factory=dict)
    profile: str | None = Field(default=None, max_length=1000)

    @field_validator("date_format", "timestamp_format")
    @classmethod
    def _whole_date(cls, v: str | None, info) -> str | None:
        """A format must write and read back a whole date (and, for timestamps, the hour and
        minute), so a typo fails here rather than as a text column later."""
        if v is None:
            return v
        ts = info.field_name == "timestamp_format"
        for when in (_dt.datetime(2025, 10, 2, 13, 45), _dt.datetime(2025, 3, 14, 9, 5)):
            want = when if ts else when.replace(hour=0, minute=0)
            try:
                ok = _dt.datetime.strptime(when.strftime(v), v).replace(second=0) == want
            except ValueError:
                ok = False
            if not ok:
                example = "'%m/%d/%Y %H:%M'" if ts else "'%m/%d/%Y' or '%d.%m.%Y'"
                what = "day, month, year, hour and minute" if ts else "day, month and year only"
                raise ValueError(f"{v!r} is not a format of {what} (e.g. {example})")
        return v

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        return known_zone(v)


# --- the period, fixed or rolling -----------------------------------------------------------------

# a fixed "today" (YYYY-MM-DD) for rolling periods and the alerts' "yesterday": a replay of the run
# a past morning would have made (the sample shop's demo, a backfill by hand) and the tests' clock
TODAY_ENV = "WORKBOOK_TODAY"
DAY_WORDS = ("yesterday", "today")
_UNITS = {"d": "d", "day": "d", "days": "d", "w": "w", "week": "w", "weeks": "w"}
_UNITS |= {"m": "m", "month": "m", "months": "m"}
_LENGTH = re.compile(r"^(\d+)\s*([a-z]+)$")
# the shop's time zone while a params file is validated (BaseParams sets it from data.timezone or
# the shop profile's); a Period validated on its own resolves in UTC
_SHOP_ZONE: ContextVar[str] = ContextVar("workbook_shop_zone", default="UTC")


def today(zone: str = "UTC") -> _dt.date:
    """Today's date in the shop's time zone ``zone``, or the date ``WORKBOOK_TODAY`` fixes (a
    one-line :class:`ParamsError` when it is not a date)."""
    fixed = os.environ.get(TODAY_ENV, "").strip()
    if fixed:
        try:
            return _dt.date.fromisoformat(fixed)
        except ValueError:
            raise ParamsError(
                f"{TODAY_ENV}={fixed!r}: not a date (YYYY-MM-DD); unset it to use today's"
            ) from None
    try:
        tz: _dt.tzinfo = zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):  # data.timezone says why, itself
        tz = _dt.UTC
    return _now(tz).date()


def _now(tz: _dt.tzinfo) -> _dt.datetime:
    """The clock (the tests replace it to put "now" in another day in one zone than in UTC)."""
    return _dt.datetime.now(tz)


def parse_length(v: Any) -> tuple[int, str]:
    """``28d``, ``4w``, ``3m`` (or ``28 days``, ``4 weeks``, ``3 months``) as ``(n, unit)``;
    ValueError saying what is expected, with the nearest unit."""
    what = "a length like 28d, 4w or 3m (days, weeks or months)"
    if isinstance(v, bool) or not isinstance(v, str | int):
        raise ValueError(f"must be {what}")
    if isinstance(v, int):
        raise ValueError(f"has no unit: write {v}d (days), {v}w (weeks) or {v}m (months)")
    m = _LENGTH.match(v.strip().lower())
    if not m:
        raise ValueError(f"'{v}' is not {what}")
    n, unit = int(m.group(1)), m.group(2)
    if unit not in _UNITS:
        near = difflib.get_close_matches(unit, list(_UNITS), n=1)
        hint = f" (did you mean '{n}{_UNITS[near[0]]}'?)" if near else ""
        raise ValueError(f"'{v}': unknown unit '{unit}'{hint}; {what}")
    if n < 1:
        raise ValueError(f"'{v}' is empty: a period has at least one day")
    if n * {"d": 1, "w": 7, "m": 31}[_UNITS[unit]] > 36600:
        raise ValueError(f"'{v}' is longer than a hundred years")
    return n, _UNITS[unit]


def _months_back(day: _dt.date, n: int) -> _dt.date:
    """``day`` ``n`` calendar months earlier (the month's last day when it is shorter)."""
    y, m = divmod(day.year * 12 + day.month - 1 - n, 12)
    last = calendar.monthrange(y, m + 1)[1]
    return _dt.date(y, m + 1, min(day.day, last))


def _day_word(v: Any, key: str) -> str | None:
    """``yesterday``/``today`` as written for ``key``; None for a date; ValueError for a word
    that is neither (with the nearest)."""
    if not isinstance(v, str) or not re.search(r"[A-Za-z]", v):
        return None
    word = v.strip().lower()
    if key == "end" and word in DAY_WORDS:
        return word
    if key == "start":
        raise ValueError(
            f"start '{v}' is not a date (YYYY-MM-DD); a period that moves with the day is "
            "written 'last: 28d' (the 28 days to yesterday) or 'end: yesterday'"
        )
    near = difflib.get_close_matches(word, DAY_WORDS, n=1)
    hint = f" (did you mean '{near[0]}'?)" if near else ""
    raise ValueError(f"end '{v}' is not a date (YYYY-MM-DD), 'yesterday' or 'today'{hint}")


class Period(Strict):
    """The analysed period, both ends inclusive: two dates, or a rolling period resolved when the
    params are validated (once per run), against today in the shop's time zone:

    - ``{last: 28d}``: the 28 days to yesterday (the last complete day); ``4w`` weeks, ``3m``
      months (counted back from the day after the end);
    - ``end: yesterday`` or ``end: today`` (today so far: an incomplete day), with ``last`` or a
      fixed ``start``.

    A run shows, records and indexes the resolved dates (``last`` is not written back), so a
    later day's run is another period. ``WORKBOOK_TODAY=YYYY-MM-DD`` fixes today (a replay)."""

    # the rolling length the dates were resolved from (kept for messages, never dumped)
    last: str | None = Field(default=None, exclude=True)
    start: Date
    end: Date

    @model_validator(mode="before")
    @classmethod
    def _rolling(cls, doc: Any) -> Any:
        if not isinstance(doc, dict):
            return doc
        for key in doc:  # a mistyped 'last' would read as a missing start
            near = difflib.get_close_matches(str(key), list(cls.model_fields), n=1)
            if key not in cls.model_fields and ("last" in doc or near == ["last"]):
                hint = f"did you mean '{near[0]}'?" if near else "known keys: last, start, end"
                raise ValueError(f"unknown key '{key}' ({hint})")
        word = _day_word(doc.get("end"), "end")
        _day_word(doc.get("start"), "start")
        last = doc.get("last")
        if last is None and word is None:
            return doc
        if last is not None and doc.get("start") is not None:
            raise ValueError(
                "give 'last' (a length to the end) or 'start', not both "
                f"(got last: {last}, start: {doc.get('start')})"
            )
        doc = dict(doc)
        if word is not None:
            now = today(_SHOP_ZONE.get())
            doc["end"] = now - _dt.timedelta(days=1) if word == "yesterday" else now
        if last is None:
            return doc
        try:
            n, unit = parse_length(last)
        except ValueError:
            return doc  # the field's own check says why, naming period.last
        if word is None and doc.get("end") is None:
            doc["end"] = today(_SHOP_ZONE.get()) - _dt.timedelta(days=1)
        try:
            end = _dt.date.fromisoformat(str(doc["end"]))
        except ValueError:
            return doc  # the end's own check says why
        after = end + _dt.timedelta(days=1)
        if unit == "m":
            start = _months_back(after, n)
        else:
            start = after - _dt.timedelta(days=n * (7 if unit == "w" else 1))
        doc["start"] = start.isoformat()
        doc["last"] = f"{n}{unit}"
        return doc

    @field_validator("last", mode="before")
    @classmethod
    def _length(cls, v: Any) -> Any:
        if v is None:
            return v
        n, unit = parse_length(v)
        return f"{n}{unit}"

    @model_validator(mode="after")
    def _ordered(self) -> Period:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self

    @property
    def days(self) -> int:
        """Number of days in the period."""
        return (self.end - self.start).days + 1


class ShopInfo(Strict):
    """A shop profile's ``shop:``: its name (shown in the report's provenance), currency, time
    zone and default report language."""

    name: str = Field(min_length=1, max_length=200)
    currency: str | None = Field(default=None, min_length=3, max_length=3)
    timezone: str | None = Field(default=None, max_length=64)
    lang: Literal["en", "zh"] | None = None

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, v: str | None) -> str | None:
        return known_currency(v)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str | None) -> str | None:
        return v if v is None else known_zone(v)


TITLE_LANGS = ("en", "zh")
TITLE_MAX = 200


def _title_piece(v: Any, where: str) -> str:
    if not isinstance(v, str):
        raise ValueError(f"{where}must be text, got a {type(v).__name__}")
    v = v.strip()
    if not v:  # pydantic's own words for a str field, as before titles could be per language
        raise ValueError(f"{where}String should have at least 1 character")
    if len(v) > TITLE_MAX:
        raise ValueError(f"{where}String should have at most {TITLE_MAX} characters")
    return v


def check_title(v: Any) -> str | dict[str, str]:
    """A title, or any text the analyst writes for the report (a scenario's name, the resources
    of a target): one text, or a mapping of report languages (en, zh) to text; ValueError naming
    an unknown language or an empty entry."""
    if not isinstance(v, dict):
        if not isinstance(v, str):
            raise ValueError(
                f"must be text or one text per language ({{en: ..., zh: ...}}), "
                f"got a {type(v).__name__}"
            )
        return _title_piece(v, "")
    if not v:
        raise ValueError("is an empty mapping: give the text, or {en: ..., zh: ...}")
    unknown = [str(k) for k in v if k not in TITLE_LANGS]
    if unknown:
        raise ValueError(
            f"unknown language '{unknown[0]}' (a text per language has the keys en, zh)"
        )
    return {k: _title_piece(x, f"{k}: ") for k, x in v.items()}


def title_in(title: str | dict[str, str], lang: str) -> str:
    """The title to show in ``lang``: the text itself, or that language's entry, else the
    other's."""
    if isinstance(title, str):
        return title
    return title.get(lang) or next(title[k] for k in TITLE_LANGS if k in title)


class BaseParams(Strict):
    """Keys every params file has."""

    # the shop profile's ``shop:`` once merged (a params file writes the profile's path)
    shop: ShopInfo | None = None
    notebook: str
    # one text, or one per language ({en: ..., zh: ...}): the report shows its language's, else
    # the other's (:attr:`title_text`)
    title: str | dict[str, str]
    data: DataSpec
    period: Period
    lang: Literal["en", "zh"] = "en"
    # the shop's currency (ISO 4217, e.g. CNY, USD, EUR): money in the report carries its symbol;
    # None shows amounts without one
    currency: str | None = Field(default=None, min_length=3, max_length=3)

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, v: str | None) -> str | None:
        return known_currency(v)

    @field_validator("title", mode="before")
    @classmethod
    def _title(cls, v: Any) -> str | dict[str, str]:
        return check_title(v)

    @property
    def title_text(self) -> str:
        """The title in the report's language: the params' text, or its language's entry of a
        per-language title, else the other language's."""
        return title_in(self.title, self.lang)

    @model_validator(mode="before")
    @classmethod
    def _shop_profile(cls, doc: Any) -> Any:
        """``shop: path/to/profile.yaml`` (relative to the working directory here; ``load`` of a
        params file resolves it against the file's folder first) merged in before validation,
        so every notebook's schema takes it, in a run and in JupyterLab alike."""
        if isinstance(doc, dict) and isinstance(doc.get("shop"), str):
            # here on purpose: loading imports every notebook's schema, which import this module
            from analysis_lib.params.loading import apply_profile

            return apply_profile(doc, Path.cwd(), "params")
        return doc

    @model_validator(mode="wrap")
    @classmethod
    def _in_shop_zone(cls, doc: Any, handler):
        """A rolling period (``last: 28d``, ``end: yesterday``) is resolved against today in the
        shop's time zone: ``data.timezone`` (a shop profile's, once merged), else UTC."""
        doc = cls._shop_profile(doc)
        data = doc.get("data") if isinstance(doc, dict) else None
        zone = data.get("timezone") if isinstance(data, dict) else getattr(data, "timezone", None)
        token = _SHOP_ZONE.set(zone if isinstance(zone, str) and zone.strip() else "UTC")
        try:
            return handler(doc)
        finally:
            _SHOP_ZONE.reset(token)

    # Tables (and columns; None = all canonical required columns) the notebook needs...
    required_tables: ClassVar[dict[str, list[str] | None]] = {}
    # ...and those it uses when present.
    optional_tables: ClassVar[dict[str, list[str] | None]] = {}

    def tables_read(self) -> list[str]:
        """Canonical tables this run reads (its data-quality section checks them)."""
        return [*self.required_tables, *self.optional_tables]

    def output_paths(self) -> list[tuple[str, str]]:
        """Files this run writes outside its report, as ``(field, path)``: none by default."""
        return []

    def input_paths(self) -> list[str]:
        """Files this run reads besides the data source (series, controls): none by default."""
        return []

    def check_data(self, src, source: str) -> None:
        """Checks of params against the data (event names, columns) that need the data source;
        raise :class:`ParamsError` naming the field. None by default."""


def require_rows(src, source: str, period: Period, tables: list[tuple]) -> None:
    """Refuse a period in which none of ``tables`` has a row (``(table expr, time column, what)``
    triples): a scheduled run before the data has landed must fail, not report zeros. The message
    says where the data does run."""
    lo, hi = as_date_bounds(period.start, period.end)
    spans = []
    for t, col, what in tables:
        if int(src.execute(t.filter((t[col] >= lo) & (t[col] < hi)).count())):
            return
        r = src.execute(t.aggregate(first=t[col].min(), last=t[col].max())).iloc[0]
        spans.append(
            f"{what} run from {r['first']:%Y-%m-%d} to {r['last']:%Y-%m-%d}"
            if r["first"] is not None and str(r["first"]) != "NaT"
            else f"there are no {what} at all"
        )
    names = " or ".join(what for _, _, what in tables)
    rolling = ""
    if period.last:  # "28d" -> "the 28 days to yesterday"
        n, unit = period.last[:-1], {"d": "days", "w": "weeks", "m": "months"}[period.last[-1]]
        rolling = (
            f"; 'last: {period.last}' is the {n} {unit} to yesterday: to replay a past morning "
            "set WORKBOOK_TODAY=YYYY-MM-DD"
        )
    raise ParamsError(
        f"{source}: field 'period': no {names} between {period.start} and {period.end} "
        f"({'; '.join(spans)}){rolling}"
    )


class CsvExport(Strict):
    """An export of ids to a CSV for the CRM: under exports/ unless ``allow_outside_exports``, never
    in the data, an input or the reports (:func:`~analysis_lib.params.outputs.check_outputs`), no '..'."""

    path: LocalPath = Field(min_length=1, max_length=500, pattern=r"\.csv$")

    @field_validator("path")
    @classmethod
    def _safe_path(cls, v: str) -> str:
        if ".." in Path(v).parts:
            raise ValueError("must not contain '..'")
        return v
