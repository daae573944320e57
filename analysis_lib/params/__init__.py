"""Params schemas: one pydantic model per notebook, and loading a YAML params file.

Every params file has ``notebook``, ``title``, ``data: {url}``, ``period: {start, end}`` and
``lang``, then the notebook's own keys. Unknown keys are rejected (a typo must not pass silently),
dates are parsed, an end before the start is refused. Each schema also names the tables and
columns its notebook needs, so a run can check the data before anything executes.
"""

from __future__ import annotations

import datetime as _dt
import difflib
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import pandas as pd
import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from analysis_lib.errors import ParamsError

MAX_PARAMS_BYTES = 256 * 1024


class _Loader(yaml.SafeLoader):
    """Safe YAML loader that leaves dates as text, so pydantic parses them and reports a bad date
    (2025-02-30) against its field instead of YAML failing on the whole file."""


def _no_alias(self, parent, index):
    if self.check_event(yaml.AliasEvent):
        event = self.peek_event()
        raise yaml.composer.ComposerError(
            None,
            None,
            "anchors and aliases (*name) are not allowed in params files",
            event.start_mark,
        )
    return yaml.SafeLoader.compose_node(self, parent, index)


_Loader.compose_node = _no_alias


def _no_duplicate_keys(self, node, deep=False):
    """A key written twice in one mapping is refused (YAML would let the second silently win)."""
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = self.construct_object(key_node, deep=deep)
        try:
            first = seen.get(key)
        except TypeError:  # an unhashable key: SafeLoader says so itself
            break
        if first is not None:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"key '{key}' is written twice (first at line {first}); keep one",
                key_node.start_mark,
            )
        seen[key] = key_node.start_mark.line + 1
    return yaml.SafeLoader.construct_mapping(self, node, deep=deep)


_Loader.construct_mapping = _no_duplicate_keys
_Loader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in rs if tag != "tag:yaml.org,2002:timestamp"]
    for ch, rs in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


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


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class DataSpec(_Strict):
    """Where the data is: a folder of Parquet/CSV files or an Ibis backend URL; ``timezone``: the
    shop's time zone (IANA name), in which days and weeks of time-zone-aware timestamps are
    counted (timestamps without a zone are taken as the shop's wall-clock time)."""

    url: str = Field(min_length=1, max_length=2000)
    timezone: str = Field(default="UTC", max_length=64)
    # how CSV files write non-ISO dates (DuckDB strptime codes, e.g. "%m/%d/%Y" for a US export);
    # without it, dates whose day/month order the values cannot settle are refused.
    # timestamp_format defaults to date_format + " %H:%M:%S".
    date_format: str | None = Field(default=None, min_length=2, max_length=64)
    timestamp_format: str | None = Field(default=None, min_length=2, max_length=64)

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
        import zoneinfo

        zones = zoneinfo.available_timezones() | {"UTC"}
        if v not in zones:
            near = difflib.get_close_matches(v, sorted(zones), n=1)
            hint = f" (did you mean '{near[0]}'?)" if near else ""
            raise ValueError(f"unknown time zone '{v}'{hint}")
        return v


class Period(_Strict):
    """The analysed period, both ends inclusive."""

    start: Date
    end: Date

    @model_validator(mode="after")
    def _ordered(self) -> Period:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self

    @property
    def days(self) -> int:
        """Number of days in the period."""
        return (self.end - self.start).days + 1


class BaseParams(_Strict):
    """Keys every params file has."""

    notebook: str
    title: str = Field(min_length=1, max_length=200)
    data: DataSpec
    period: Period
    lang: Literal["en", "zh"] = "en"
    # the shop's currency (ISO 4217, e.g. CNY, USD, EUR): money in the report carries its symbol;
    # None shows amounts without one
    currency: str | None = Field(default=None, min_length=3, max_length=3)

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, v: str | None) -> str | None:
        from babel.numbers import list_currencies

        if v is None:
            return v
        codes = list_currencies()
        if v.upper() not in codes:
            near = difflib.get_close_matches(v.upper(), sorted(codes), n=1)
            hint = f" (did you mean '{near[0]}'?)" if near else ""
            raise ValueError(f"unknown currency '{v}'{hint}: an ISO 4217 code such as CNY, USD, EUR")
        return v.upper()

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
    from analysis_lib.core.data import as_date_bounds

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
    raise ParamsError(
        f"{source}: field 'period': no {names} between {period.start} and {period.end} "
        f"({'; '.join(spans)})"
    )


class KpiMonitorParams(BaseParams):
    """kpi_monitor (数据监控看板): KPIs for a period at a grain, against targets and history."""

    notebook: Literal["kpi_monitor"]
    grain: Literal["day", "week", "month"] = "week"

    # events optional: most order exports have none; UV and conversion are then left out
    required_tables: ClassVar = {"orders": None}
    optional_tables: ClassVar = {"events": ["event_ts", "user_id"], "targets": None}

    def check_data(self, src, source: str) -> None:
        """The period must hold orders or events (no report of zeros before the data lands)."""
        tables = [(src.table("orders"), "order_ts", "orders")]
        if src.has("events"):
            tables.append((src.table("events"), "event_ts", "events"))
        require_rows(src, source, self.period, tables)


class _CsvExport(_Strict):
    """An export of ids to a CSV for the CRM: under exports/ unless ``allow_outside_exports``, never
    in the data, an input or the reports (:func:`check_outputs`), no '..'."""

    path: LocalPath = Field(min_length=1, max_length=500, pattern=r"\.csv$")

    @field_validator("path")
    @classmethod
    def _safe_path(cls, v: str) -> str:
        if ".." in Path(v).parts:
            raise ValueError("must not contain '..'")
        return v


class DropoffExport(_CsvExport):
    """Export the ids of units that reached ``step`` but not the next one (the report shows
    counts only)."""

    step: str


_WINDOW_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_window(value) -> float:
    """A funnel's conversion window in seconds: a number of seconds, or text ``"30m"``, ``"36h"``,
    ``"7d"``, ``"90s"`` (a decimal number and a unit); exact (no rounding to whole seconds).
    Raises ``ValueError`` saying what is accepted."""
    import re

    if isinstance(value, bool):
        raise ValueError("must be seconds or text like '30m', '36h', '7d'")
    if isinstance(value, int | float):
        return float(value)
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd])\s*", str(value))
    if not m:
        raise ValueError(f"'{value}' is not a window: write seconds or e.g. '30m', '36h', '7d'")
    return float(m.group(1)) * _WINDOW_UNITS[m.group(2)]


class FunnelExclusion(_Strict):
    """Units whose counted chain has ``event`` after reaching one step and before reaching
    another are removed from every step. ``between``: the two steps, as names or numbers (1 is
    the first step); default the whole funnel."""

    event: str = Field(min_length=1, max_length=200)
    between: tuple[int | str, int | str] | None = None


class FunnelParams(BaseParams):
    """funnel (漏斗分析): steps, window, entry, mode, counting unit, exclusions, breakdowns, a
    comparison period. ``window``: ``"36h"``, ``"30m"``, ``"7d"`` or seconds (``window_days``, a
    number of days, is still read for older files); default 7 days."""

    notebook: Literal["funnel"]
    steps: list[str] = Field(
        default=["page_view", "product_view", "add_to_cart", "checkout", "purchase"],
        min_length=2,
        max_length=20,
    )
    window: float | str | None = None
    window_days: float = Field(default=7, gt=0, le=180)
    entry: Literal["any", "first"] = "any"
    mode: Literal["ordered", "strict", "any_order"] = "ordered"
    unit: Literal["user", "session"] = "user"
    exclusions: list[str | FunnelExclusion] = Field(default=[], max_length=20)
    breakdowns: list[str] = Field(default=["channel", "device", "new_vs_returning"], max_length=10)
    trend_grain: Literal["day", "week"] = "week"
    compare_period: Period | None = None
    export_dropoff: DropoffExport | None = None
    allow_outside_exports: bool = False

    def output_paths(self) -> list[tuple[str, str]]:
        """The drop-off export, if any."""
        return [("export_dropoff.path", self.export_dropoff.path)] if self.export_dropoff else []

    # orders optional: only the traffic-source section (AOV, GMV per UV, ROAS) needs them
    required_tables: ClassVar = {"events": ["event_ts", "user_id", "event"]}
    optional_tables: ClassVar = {
        "orders": None,
        "marketing_spend": None,
        "products": ["sku", "category"],
    }

    def check_data(self, src, source: str) -> None:
        """Exclusions must be event names present in ``events``, and so must steps that look like
        a typo of one (a step no event has and nothing resembles counts zero); breakdowns must be
        columns of ``events`` (or ``new_vs_returning``, or ``category`` with a products table)."""
        ev = src.table("events")
        require_rows(src, source, self.period, [(ev, "event_ts", "events")])
        names = set(src.execute(ev.select("event").distinct())["event"].dropna())
        for field, values in (("steps", self.steps), ("exclusions", self.exclusion_events())):
            for v in values:
                if v not in names:
                    near = difflib.get_close_matches(v, sorted(names), n=1)
                    if field == "steps" and not near:
                        continue  # a step no event has yet: zeros and a finding, as in PostHog
                    hint = f" (did you mean '{near[0]}'?)" if near else ""
                    raise ParamsError(f"{source}: field '{field}': unknown event '{v}'{hint}")
        if "breakdowns" not in self.model_fields_set:  # the default: the columns this shop has
            self.breakdowns = [
                b for b in self.breakdowns if b == "new_vs_returning" or b in ev.columns
            ]
        for b in self.breakdowns:
            if b == "new_vs_returning":
                continue
            if b == "category":
                if not (src.has("products") and "sku" in ev.columns):
                    raise ParamsError(
                        f"{source}: field 'breakdowns': 'category' needs a products table and events.sku"
                    )
                continue
            if b not in ev.columns:
                raise ParamsError(f"{source}: field 'breakdowns': events has no column '{b}'")

    @field_validator("steps")
    @classmethod
    def _distinct_steps(cls, v: list[str]) -> list[str]:
        dup = sorted({s for s in v if v.count(s) > 1})
        if dup:
            raise ValueError(f"must be distinct ({', '.join(dup)} appears twice)")
        return v

    @field_validator("window")
    @classmethod
    def _window(cls, v):
        if v is None:
            return v
        secs = parse_window(v)
        if not 0 < secs <= 180 * 86400:
            raise ValueError("must be more than 0 and at most 180 days")
        return secs

    @field_validator("window_days")
    @classmethod
    def _one_window(cls, v, info):
        w = info.data.get("window")  # this only runs when window_days is given
        if w is not None and abs(w - v * 86400) > 1e-6:
            raise ValueError("give window or window_days, not both")
        return v

    @field_validator("exclusions")
    @classmethod
    def _exclusions(cls, v: list, info) -> list:
        steps = info.data.get("steps")
        if not steps:
            return v
        for x in v:
            event = x if isinstance(x, str) else x.event
            if event in steps:
                raise ValueError(f"'{event}' is also a step; an exclusion must be another event")
            if isinstance(x, FunnelExclusion) and x.between is not None:
                a, b = (_step_number(s, steps) for s in x.between)
                if not a < b:
                    raise ValueError(f"'{event}': between {list(x.between)} must go forward")
        return v

    @model_validator(mode="after")
    def _check_steps(self) -> FunnelParams:
        if self.export_dropoff and self.export_dropoff.step not in self.steps[:-1]:
            raise ValueError(f"export_dropoff.step must be one of {self.steps[:-1]}")
        if self.window is not None:  # both kept in step, so the params read back the same
            self.window_days = self.window / 86400
        return self

    @property
    def window_seconds(self) -> float:
        """The conversion window in seconds (default 7 days)."""
        return float(self.window) if self.window is not None else self.window_days * 86400.0

    def exclusion_events(self) -> list[str]:
        """The events of the exclusions."""
        return [x if isinstance(x, str) else x.event for x in self.exclusions]

    def spec(self):
        """The :class:`analysis_lib.analyses.funnel.FunnelSpec` these params describe."""
        from analysis_lib.analyses import funnel as F

        ex = []
        for x in self.exclusions:
            if isinstance(x, str) or x.between is None:
                ex.append(F.Exclusion(x if isinstance(x, str) else x.event))
            else:
                a, b = (_step_number(s, self.steps) - 1 for s in x.between)
                ex.append(F.Exclusion(x.event, a, b))
        return F.FunnelSpec(
            tuple(self.steps),
            window=self.window_seconds,
            mode=self.mode,
            unit=self.unit,
            exclusions=tuple(ex),
            entry=self.entry,
        )


def _step_number(s: int | str, steps: list[str]) -> int:
    """A step named or numbered (1 = the first) as its number; ``ValueError`` naming the steps."""
    if isinstance(s, str) and s in steps:
        return steps.index(s) + 1
    if isinstance(s, int) and 1 <= s <= len(steps):
        return s
    raise ValueError(f"step {s!r} is not one of {steps} nor a number 1..{len(steps)}")


class AbMetric(_Strict):
    """One A/B metric; see :class:`analysis_lib.analyses.abtest.MetricDef`."""

    name: str = Field(min_length=1, max_length=80, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    kind: Literal["proportion", "mean", "ratio"]
    column: str | None = None
    numerator: str | None = None
    denominator: str | None = None
    winsorize: float | None = Field(default=None, gt=0.5, lt=1)
    covariate: str | None = None
    covariate_denominator: str | None = None
    higher_is_better: bool = True
    missing: Literal["drop", "zero"] = "drop"

    @model_validator(mode="after")
    def _ratio_parts(self) -> AbMetric:
        if self.kind == "ratio" and not (self.numerator and self.denominator):
            raise ValueError(f"ratio metric '{self.name}' needs numerator and denominator")
        if self.kind != "ratio" and (self.numerator or self.denominator):
            raise ValueError(
                f"only ratio metrics take numerator/denominator ('{self.name}' is {self.kind})"
            )
        if self.covariate_denominator and not (self.kind == "ratio" and self.covariate):
            raise ValueError(
                f"covariate_denominator goes with a ratio metric's covariate ('{self.name}' is "
                f"{self.kind}{'' if self.covariate else ' without a covariate'})"
            )
        return self

    def columns(self) -> list[str]:
        """Unit-table columns this metric reads."""
        cols = (
            [self.numerator, self.denominator]
            if self.kind == "ratio"
            else [self.column or self.name]
        )
        return [c for c in [*cols, self.covariate, self.covariate_denominator] if c]


class AbGuardrail(_Strict):
    """A guardrail: a metric (one of ``metrics``) that must not degrade beyond ``tolerance``."""

    metric: str
    tolerance: float = Field(default=0.02, ge=0, le=1)


class UnitTable(_Strict):
    """Input (b): a unit-level table of the data source."""

    table: str = Field(min_length=1)
    variant_column: str = "variant"


class Planner(_Strict):
    """Inputs of the sample-size planner."""

    kind: Literal["proportion", "mean"] = "proportion"
    baseline: float = Field(gt=0)
    mde: float = Field(gt=0, le=10, description="relative effect wanted, 0.05 = +5%")
    daily_units: float = Field(gt=0)
    sd: float | None = Field(default=None, gt=0)
    power: float = Field(default=0.8, gt=0, lt=1)


class AbTestParams(BaseParams):
    """ab_test (A/B 测试): an experiment from the shop's assignments, or a unit-level table."""

    notebook: Literal["ab_test"]
    experiment_id: str | None = None
    unit_table: UnitTable | None = None
    control: str = "control"
    planned_split: dict[str, float] | None = None
    metrics: list[AbMetric] = Field(min_length=1, max_length=30)
    guardrails: list[AbGuardrail] = []
    alpha: float = Field(default=0.05, gt=0, lt=0.5)
    correction: Literal["holm", "bh", "none"] = "holm"
    srm_threshold: float = Field(default=0.001, gt=0, lt=1)
    segments: list[str] = Field(default=[], max_length=10)
    sequential: bool = False
    sequential_planned_units: int | None = Field(default=None, gt=0)
    pre_period_days: int = Field(default=28, ge=1, le=365)
    planner: Planner | None = None

    required_tables: ClassVar = {}
    optional_tables: ClassVar = {"users": ["user_id", "signup_ts"]}

    def tables_read(self) -> list[str]:
        """The shop's assignments and orders with ``experiment_id``; a unit table is not canonical."""
        shop = ["assignments", "orders"] if self.experiment_id is not None else []
        return [*shop, *self.optional_tables]

    @model_validator(mode="after")
    def _one_source(self) -> AbTestParams:
        if (self.experiment_id is None) == (self.unit_table is None):
            raise ValueError("give exactly one of experiment_id (shop assignments) or unit_table")
        names = [m.name for m in self.metrics]
        if len(set(names)) != len(names):
            raise ValueError(f"metric names must be distinct, got {names}")
        for g in self.guardrails:
            if g.metric not in names:
                raise ValueError(f"guardrail metric '{g.metric}' is not one of the metrics {names}")
        if self.planned_split is not None and (
            any(v <= 0 for v in self.planned_split.values())
            or self.control not in self.planned_split
        ):
            raise ValueError(
                "planned_split needs a positive weight for every variant, the control included"
            )
        return self

    def _check_zero_one(self, src, t, m: AbMetric) -> None:
        """A proportion's column holds 0 and 1 only (a "proportion" of 2.99 is a mean): a
        :class:`DataError` naming table, column and a value that is neither."""
        from analysis_lib.errors import DataError

        c = m.columns()[0]
        bad = t.filter(t[c].notnull() & ~t[c].isin([0, 1]))
        n = int(src.execute(bad.count()))
        if n:
            example = src.execute(bad.select(c).limit(1))[c].iloc[0]
            table = self.unit_table.table
            raise DataError(
                f"{src.where(table)}: column '{table}.{c}' of proportion metric '{m.name}' has "
                f"{n:,} value(s) that are not 0 or 1 (e.g. {example:g}); use kind: mean"
            )

    def check_data(self, src, source: str) -> None:
        """The tables of the chosen input exist with their columns; control and the metric columns
        are there; at least two variants, none empty."""
        from analysis_lib.core import data as D

        if self.experiment_id is not None:
            from analysis_lib.core.quality import check_blocking

            D.check_tables(src, {"assignments": None, "orders": None})
            check_blocking(src, ["assignments", "orders"])
            shop = {"converted", "orders", "revenue", "pre_converted", "pre_orders", "pre_revenue"}
            for m in self.metrics:
                for c in m.columns():
                    if c not in shop:
                        raise ParamsError(
                            f"{source}: field 'metrics': column '{c}' of metric '{m.name}' is not one "
                            f"of the shop metrics {sorted(shop)}"
                        )
                if m.kind == "proportion" and m.columns()[0] not in ("converted", "pre_converted"):
                    raise ParamsError(
                        f"{source}: field 'metrics': metric '{m.name}' is a proportion but "
                        f"'{m.columns()[0]}' is not 0/1 (converted and pre_converted are); "
                        f"use kind: mean"
                    )
            for seg in self.segments:
                if seg not in ("channel", "new_vs_returning"):
                    raise ParamsError(
                        f"{source}: field 'segments': '{seg}' is not a shop segment (channel, new_vs_returning)"
                    )
                if not src.has("users"):
                    raise ParamsError(
                        f"{source}: field 'segments': segment '{seg}' needs the users table"
                    )
                if seg == "channel" and "channel" not in src.table("users").columns:
                    raise ParamsError(
                        f"{source}: field 'segments': segment 'channel' needs a channel column in "
                        f"{src.where('users')}"
                    )
            a = src.table("assignments")
            a = a.filter(a.experiment_id == self.experiment_id)
            variants = src.execute(a.group_by("variant").aggregate(n=a.count()))
            where = src.where("assignments")
        else:
            if not src.has(self.unit_table.table):
                raise ParamsError(
                    f"{source}: field 'unit_table.table': table '{self.unit_table.table}' not found in {src.url}"
                )
            t = src.table(self.unit_table.table)
            vc = self.unit_table.variant_column
            if vc not in t.columns:
                raise ParamsError(
                    f"{source}: field 'unit_table.variant_column': table '{self.unit_table.table}' has no column '{vc}'"
                )
            for m in self.metrics:
                for c in m.columns():
                    if c not in t.columns:
                        raise ParamsError(
                            f"{source}: field 'metrics': table '{self.unit_table.table}' has no column '{c}' (metric '{m.name}')"
                        )
                    dt = t.schema()[c]
                    if not (dt.is_numeric() or dt.is_boolean()):
                        raise ParamsError(
                            f"{source}: field 'metrics': column '{c}' of metric '{m.name}' is {dt}, not numeric"
                        )
                if m.kind == "proportion" and not t.schema()[m.columns()[0]].is_boolean():
                    self._check_zero_one(src, t, m)
            for s in self.segments:
                if s not in t.columns:
                    raise ParamsError(
                        f"{source}: field 'segments': table '{self.unit_table.table}' has no column '{s}'"
                    )
            n_null = int(src.execute(t.filter(t[vc].isnull()).count()))
            if n_null:
                from analysis_lib.errors import DataError

                raise DataError(
                    f"{src.where(self.unit_table.table)}: column '{self.unit_table.table}.{vc}' has "
                    f"{n_null:,} null value(s) in {int(src.execute(t.count())):,} rows (every unit "
                    f"needs its variant: drop those rows or fill them in)"
                )
            variants = src.execute(
                t.group_by(t[vc].cast("string").name("variant")).aggregate(n=t.count())
            )
            where = src.where(self.unit_table.table)
        found = {str(v): int(n) for v, n in zip(variants["variant"], variants["n"], strict=True)}
        if not found:
            raise ParamsError(
                f"{source}: field 'experiment_id': no units for experiment '{self.experiment_id}' in {where}"
            )
        if self.control not in found:
            raise ParamsError(
                f"{source}: field 'control': variant '{self.control}' not found (variants: {', '.join(sorted(found))})"
            )
        if len(found) < 2:
            raise ParamsError(
                f"{source}: only one variant ('{self.control}') in {where}: nothing to compare"
            )
        if self.planned_split is not None and set(self.planned_split) != set(found):
            raise ParamsError(
                f"{source}: field 'planned_split': variants {sorted(self.planned_split)} do not match the data's {sorted(found)}"
            )


class MarketParams(BaseParams):
    """market_analysis (市场分析): the market table over the period's months, and our buyers."""

    notebook: Literal["market_analysis"]
    our_brand: str | None = None
    price_bands: int = Field(default=4, ge=2, le=10)
    high_value_share: float = Field(default=0.2, gt=0, lt=1)

    required_tables: ClassVar = {"market": None}
    optional_tables: ClassVar = {"orders": None, "users": ["user_id", "signup_ts"]}

    def check_data(self, src, source: str) -> None:
        """Our brand must be in the market table (by ``our_brand`` or an ``is_self`` row)."""
        from analysis_lib.analyses import market
        from analysis_lib.errors import DataError

        try:
            market.load(src, self.our_brand)
        except DataError as exc:
            field = "our_brand" if self.our_brand else "data.url"
            raise ParamsError(f"{source}: field '{field}': {exc}") from None


class Scenario(_Strict):
    """A what-if scenario: relative changes of the drivers (0.05 = +5%)."""

    name: str = Field(min_length=1, max_length=80)
    uv: float = Field(default=0.0, gt=-1, le=10)
    conversion: float = Field(default=0.0, gt=-1, le=10)
    aov: float = Field(default=0.0, gt=-1, le=10)


class TargetSettingParams(BaseParams):
    """target_setting (目标设定): ``period`` is the history the forecast is fitted on; the target
    is for ``target_year``."""

    notebook: Literal["target_setting"]
    target_year: int = Field(ge=1990, le=2100)
    annual_target: float = Field(gt=0, description="GMV target for target_year")
    seasonal: bool = True
    promo_calendar: bool = False
    interval: float = Field(default=0.8, gt=0.5, lt=1)
    owners: dict[str, str] = {"gmv": "operations lead"}
    resources: str = ""
    scenarios: list[Scenario] = Field(default=[], max_length=10)
    write_targets: LocalPath | None = Field(default=None, max_length=500, pattern=r"\.parquet$")
    allow_outside_exports: bool = False

    def output_paths(self) -> list[tuple[str, str]]:
        """The targets table, if written."""
        return [("write_targets", self.write_targets)] if self.write_targets else []

    required_tables: ClassVar = {"orders": None}
    optional_tables: ClassVar = {
        "events": ["event_ts", "user_id"],
        "campaigns": None,
        "order_items": None,
        "products": ["sku", "category"],
    }

    @model_validator(mode="after")
    def _years(self) -> TargetSettingParams:
        if self.target_year <= self.period.end.year:
            raise ValueError(
                f"target_year {self.target_year} must come after the history, which ends {self.period.end}"
            )
        if self.write_targets and ".." in Path(self.write_targets).parts:
            raise ValueError(f"write_targets must not contain '..': {self.write_targets}")
        return self

    def check_data(self, src, source: str) -> None:
        """Enough history for the model asked for; campaigns present for a promo calendar."""
        months = (
            (self.period.end.year - self.period.start.year) * 12
            + self.period.end.month
            - self.period.start.month
            + 1
        )
        if self.seasonal and months < 24:
            raise ParamsError(
                f"{source}: field 'seasonal': a seasonal model needs two seasons (24 months) of history, "
                f"the period has {months}; set seasonal: false or lengthen the period"
            )
        if self.promo_calendar and not src.has("campaigns"):
            raise ParamsError(
                f"{source}: field 'promo_calendar': needs a campaigns table in {src.url}"
            )
        self._check_months_with_gmv(src, source, months)

    def _check_months_with_gmv(self, src, source: str, months: int) -> None:
        """Every month of the history must have GMV: the forecast models log GMV, and a month
        at zero has no log. Refused here, naming the months, rather than seconds later in a cell;
        filling such a month with a guess would bend the trend the target rests on."""
        from analysis_lib.core import metrics as M
        from analysis_lib.core.data import as_date_bounds

        lo, hi = as_date_bounds(self.period.start, self.period.end)
        o = M.valid_orders(src.table("orders"))
        o = o.filter((o.order_ts >= lo) & (o.order_ts < hi))
        got = src.execute(o.group_by(month=o.order_ts.truncate("M")).aggregate(gmv=o.gmv.sum()))
        with_gmv = {
            pd.Timestamp(m).strftime("%Y-%m")
            for m, g in zip(got.month, got.gmv, strict=True)
            if g > 0
        }
        first = pd.Timestamp(self.period.start).to_period("M")
        empty = [str(first + i) for i in range(months) if str(first + i) not in with_gmv]
        if empty:
            shown = ", ".join(empty[:6]) + (f" and {len(empty) - 6} more" if len(empty) > 6 else "")
            raise ParamsError(
                f"{source}: field 'period': {len(empty)} month(s) of the history have no GMV "
                f"({shown}); the forecast models log GMV: choose a period whose every month has GMV"
            )


class SegmentExport(_CsvExport):
    """Export the ids of one RFM segment to a CSV for the CRM (outside reports/)."""

    segment: Literal[
        "champions",
        "loyal",
        "new",
        "potential_loyalists",
        "promising",
        "need_attention",
        "about_to_sleep",
        "cannot_lose",
        "at_risk",
        "hibernating",
    ]


class CustomerValueParams(BaseParams):
    """customer_value (用户价值): RFM over the period, cohorts, and predictive CLV with a
    calibration period ``period.start`` .. ``calibration_end`` and the holdout after it up to
    ``period.end``."""

    notebook: Literal["customer_value"]
    calibration_end: Date | None = None
    clv: bool = True
    clv_months: int = Field(default=12, ge=1, le=60)
    ltv_months: int = Field(default=12, ge=1, le=60)
    export_segment: SegmentExport | None = None
    allow_outside_exports: bool = False

    def output_paths(self) -> list[tuple[str, str]]:
        """The segment export, if any."""
        return [("export_segment.path", self.export_segment.path)] if self.export_segment else []

    required_tables: ClassVar = {"orders": None}
    optional_tables: ClassVar = {"users": ["user_id", "signup_ts"], "marketing_spend": None}

    @model_validator(mode="after")
    def _calibration(self) -> CustomerValueParams:
        if self.calibration_end is not None and not (
            self.period.start < self.calibration_end < self.period.end
        ):
            raise ValueError(
                f"calibration_end {self.calibration_end} must fall inside the period {self.period.start}..{self.period.end}"
            )
        return self

    def check_data(self, src, source: str) -> None:
        """The period must hold valid orders: customer value has nothing to say without buyers."""
        from analysis_lib.core import metrics as M

        orders = M.valid_orders(src.table("orders"))
        require_rows(src, source, self.period, [(orders, "order_ts", "valid orders")])


class ProductOpsParams(BaseParams):
    """product_ops (商品运营): the period's sales and stock per SKU."""

    notebook: Literal["product_ops"]
    slow_days: int = Field(default=30, ge=1, le=365)
    lead_time_days: int = Field(default=7, ge=0, le=365)

    required_tables: ClassVar = {
        "products": None,
        "order_items": None,
        "orders": ["order_id", "order_ts", "status"],
    }
    optional_tables: ClassVar = {"inventory": None}


class SeriesControls(_Strict):
    """Control series: a table of the data source (``table``) or a CSV/Parquet file (``path``),
    with a date column and the control columns."""

    table: str | None = None
    path: LocalPath | None = None
    date_column: str = "date"
    columns: list[str] = Field(min_length=1, max_length=20)

    @model_validator(mode="after")
    def _one(self) -> SeriesControls:
        if (self.table is None) == (self.path is None):
            raise ValueError("controls need exactly one of table or path")
        return self


class CampaignRetroParams(BaseParams):
    """campaign_retro (活动复盘): ``period`` is the pre-period the counterfactual is fitted on; the
    campaign's phases come from the campaigns table, followed by ``post_window`` days."""

    notebook: Literal["campaign_retro"]
    campaign_id: str = Field(min_length=1)
    post_window: int = Field(default=14, ge=0, le=120)
    controls: SeriesControls | None = None
    seasonality: int | None = Field(default=7, ge=2, le=366)
    margin: float = Field(default=0.3, gt=0, le=1)
    prior_level_sd: Annotated[float, Field(gt=0, le=1)] | Literal["auto"] = 0.01
    """R CausalImpact's ``prior.level.sd``: 0.01 (R's default, reproduces R), 0.1 for a
    noisy series whose level wanders, or ``auto`` (chosen by the Bayes factor of the pre-period;
    see the README)."""
    compare_with: list[str] = Field(default=[], max_length=10)

    def input_paths(self) -> list[str]:
        """The controls file, if controls come from a file."""
        return [self.controls.path] if self.controls is not None and self.controls.path else []

    # events optional: only the burst-funnel section needs them
    required_tables: ClassVar = {"orders": None, "campaigns": None}
    optional_tables: ClassVar = {
        "events": ["event_ts", "user_id", "event"],
        "marketing_spend": None,
        "order_items": None,
        "products": ["sku", "category"],
    }

    def check_data(self, src, source: str) -> None:
        """The campaign exists with ordered phases after the pre-period; the pre-period can fit the
        seasonality; spend channels exist in orders."""
        from analysis_lib.analyses import campaign
        from analysis_lib.errors import DataError

        for cid in [self.campaign_id, *self.compare_with]:
            try:
                camp = campaign.load(src, cid, self.post_window)
            except DataError as exc:
                raise ParamsError(f"{source}: field 'campaign_id': {exc}") from None
            if cid == self.campaign_id and camp["preheat_start"] <= self.period.end:
                raise ParamsError(
                    f"{source}: field 'period': the pre-period must end before the campaign's pre-heat ({camp['preheat_start']})"
                )
        ctl = self.controls
        if ctl is not None and ctl.table is not None:
            if not src.has(ctl.table):
                raise ParamsError(
                    f"{source}: field 'controls.table': no table '{ctl.table}' in {src.url}"
                )
            cols = src.table(ctl.table).columns
            for c in [ctl.date_column, *ctl.columns]:
                if c and c not in cols:
                    raise ParamsError(
                        f"{source}: field 'controls': table '{ctl.table}' has no column '{c}'"
                    )
        if self.seasonality and self.period.days < 2 * self.seasonality:
            raise ParamsError(
                f"{source}: field 'seasonality': a season of {self.seasonality} days needs a pre-period of at least "
                f"{2 * self.seasonality} days, got {self.period.days}"
            )
        if src.has("marketing_spend"):
            ms, o = src.table("marketing_spend"), src.table("orders")
            spend_ch = set(src.execute(ms.select("channel").distinct())["channel"])
            order_ch = (
                set(src.execute(o.select("channel").distinct())["channel"])
                if "channel" in o.columns
                else set()
            )
            unknown = sorted(spend_ch - order_ch)
            if order_ch and unknown:
                raise ParamsError(
                    f"{source}: data: marketing_spend has spend for channel '{unknown[0]}', which no order has"
                )


class SeriesSpec(_Strict):
    """A KPI series file for intervention_impact."""

    path: LocalPath
    date_column: str | None = "date"
    y: str
    controls: list[str] = Field(default=[], max_length=20)
    sep: str | None = None


class InterventionParams(BaseParams):
    """intervention_impact: any KPI series with controls and an intervention; ``period`` is the
    whole window analysed (pre and post)."""

    notebook: Literal["intervention_impact"]
    series: SeriesSpec
    intervention: Date | int
    seasonality: int | None = Field(default=None, ge=2, le=366)
    alpha: float = Field(default=0.05, gt=0, lt=0.5)
    prior_level_sd: Annotated[float, Field(gt=0, le=1)] | Literal["auto"] = 0.01
    """R CausalImpact's ``prior.level.sd``: 0.01 (R's default, reproduces R), 0.1 for a
    noisy series whose level wanders, or ``auto`` (chosen by the Bayes factor of the pre-period;
    see the README)."""

    required_tables: ClassVar = {}

    def input_paths(self) -> list[str]:
        """The series file."""
        return [self.series.path]

    def check_data(self, src, source: str) -> None:
        """The file has the named columns and the intervention falls inside the data."""
        from analysis_lib.analyses import causal
        from analysis_lib.errors import DataError

        path = self.series.path
        try:
            y, _ = causal.read_series(
                path, self.series.date_column, self.series.y, self.series.controls, self.series.sep
            )
        except DataError as exc:
            raise ParamsError(f"{source}: field 'series': {exc}") from None
        idx = y.index
        t = (
            pd.Timestamp(self.intervention)
            if isinstance(self.intervention, _dt.date)
            else self.intervention
        )
        if not (idx.min() < t <= idx.max()):
            raise ParamsError(
                f"{source}: field 'intervention': {self.intervention} is outside the data ({idx.min()} .. {idx.max()})"
            )


EXPORTS_DIR = "exports"


def _local_path(p: str | Path, cwd: Path) -> Path:
    q = Path(p).expanduser()
    return (q if q.is_absolute() else cwd / q).resolve()


def _data_paths(url: str, cwd: Path) -> Path | None:
    """The local folder or database file behind a data URL (None for a server)."""
    if url.startswith(("duckdb://", "sqlite://", "pyspark://")):
        path = url.split("://", 1)[1].partition("?")[0]
        return _local_path(path, cwd) if path and path != ":memory:" else None
    if "://" in url and not url.startswith("file://"):
        return None
    return _local_path(url.removeprefix("file://"), cwd)


def check_outputs(
    params: BaseParams, source: str, out_root: str | Path = "reports", cwd: Path | None = None
) -> None:
    """Refuse, before anything runs, an output path (``write_targets``, ``export_dropoff.path``,
    ``export_segment.path``) that could destroy something: one that names the data source or lies
    inside the data folder (a targets table written over ``orders.parquet`` replaced the shop's
    orders), names an input file (the params file, a series or controls file), lies inside the
    report folder ``out_root``, or lies outside the output area ``exports/`` (relative to the
    working directory) while the params do not set ``allow_outside_exports: true``.

    Relative paths are taken from ``cwd`` (default: the working directory), as the runner does.
    The opt-in widens the area only: the data, inputs and reports stay refused with it.
    """
    outs = params.output_paths()
    if not outs:
        return
    cwd = Path.cwd() if cwd is None else Path(cwd)
    data = _data_paths(params.data.url, cwd)
    inputs = [_local_path(p, cwd) for p in params.input_paths()]
    if Path(source).is_file():
        inputs.append(_local_path(source, cwd))
    reports = _local_path(out_root, cwd)
    exports = _local_path(EXPORTS_DIR, cwd)
    for field, raw in outs:
        p = _local_path(raw, cwd)
        where = f"{source}: field '{field}': {raw}"
        if data is not None and (p == data or p.is_relative_to(data)):
            raise ParamsError(
                f"{where} is inside the data folder {data}: it would overwrite the shop's data; "
                f"write under {EXPORTS_DIR}/"
            )
        if p in inputs:
            raise ParamsError(f"{where} is an input of this run; write under {EXPORTS_DIR}/")
        if p == reports or p.is_relative_to(reports):
            raise ParamsError(
                f"{source}: field '{field}': must be outside {out_root}/ (reports hold reports only)"
            )
        if not getattr(params, "allow_outside_exports", False) and not p.is_relative_to(exports):
            raise ParamsError(
                f"{where} is outside {EXPORTS_DIR}/: write under {EXPORTS_DIR}/, or set "
                f"allow_outside_exports: true to write elsewhere"
            )


SCHEMAS: dict[str, type[BaseParams]] = {
    "campaign_retro": CampaignRetroParams,
    "intervention_impact": InterventionParams,
    "customer_value": CustomerValueParams,
    "product_ops": ProductOpsParams,
    "market_analysis": MarketParams,
    "target_setting": TargetSettingParams,
    "ab_test": AbTestParams,
    "kpi_monitor": KpiMonitorParams,
    "funnel": FunnelParams,
}


def _loc(loc: tuple) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


def _one_line(path: str, model: type[BaseModel], exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = _loc(err["loc"])
    if err["type"] == "extra_forbidden":
        known = list(model.model_fields)
        near = difflib.get_close_matches(str(err["loc"][-1]), known, n=1)
        hint = f" (did you mean '{near[0]}'?)" if near else f" (known keys: {', '.join(known)})"
        return f"{path}: unknown key '{loc}'{hint}"
    if err["type"] == "missing":
        return f"{path}: missing key '{loc}'"
    msg = err["msg"].removeprefix("Value error, ")
    value = err.get("input")
    if not isinstance(value, str | int | float | bool):  # a mapping or list: the message says it
        return f"{path}: field '{loc}': {msg}"
    shown = repr(value)
    if isinstance(value, str) and shown in msg:  # the message names the value already
        return f"{path}: field '{loc}': {msg}"
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return f"{path}: field '{loc}': {msg} (got {shown})"


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Read a params file as a mapping; one-line :class:`ParamsError` on any problem."""
    p = Path(path)
    if not p.is_file():
        raise ParamsError(f"{p}: params file not found")
    raw = p.read_bytes()
    if len(raw) > MAX_PARAMS_BYTES:
        raise ParamsError(f"{p}: params file is {len(raw)} bytes, larger than {MAX_PARAMS_BYTES}")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParamsError(f"{p}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from exc
    try:
        doc = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ParamsError(f"{p}: invalid YAML{where}: {problem}") from exc
    except RecursionError as exc:
        raise ParamsError(f"{p}: YAML nested too deeply") from exc
    if not isinstance(doc, dict):
        raise ParamsError(f"{p}: expected a mapping of keys, got {type(doc).__name__}")
    return doc


def validate(doc: dict[str, Any], source: str = "params") -> BaseParams:
    """Validate a params mapping against its notebook's schema; one-line error naming the field."""
    name = doc.get("notebook")
    if name is None:
        raise ParamsError(
            f"{source}: missing key 'notebook' (one of: {', '.join(sorted(SCHEMAS))})"
        )
    if not isinstance(name, str):
        raise ParamsError(
            f"{source}: field 'notebook': must be one notebook name, got a {type(name).__name__} "
            f"(one of: {', '.join(sorted(SCHEMAS))})"
        )
    if name not in SCHEMAS:
        known = ", ".join(sorted(SCHEMAS))
        raise ParamsError(f"{source}: field 'notebook': unknown notebook {name!r} (known: {known})")
    model = SCHEMAS[name]
    try:
        params = model.model_validate(doc)
    except ValidationError as exc:
        raise ParamsError(_one_line(source, model, exc)) from None
    url = params.data.url
    try:
        check_path(url.removeprefix("file://"))  # a backend URL: no NUL byte
    except ValueError as exc:
        raise ParamsError(f"{source}: field 'data.url': {exc} (got {url!r})") from None
    return params


def load(path: str | Path) -> BaseParams:
    """Read and validate a params file."""
    return validate(read_yaml(path), str(path))


def to_notebook(params: BaseParams) -> dict[str, Any]:
    """The params as the plain dict injected into the notebook's ``params`` variable."""
    return params.model_dump(mode="json")
