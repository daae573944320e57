"""Params of kpi_monitor (数据监控看板), with its alert rules and where alerts are delivered.

``alerts:`` (optional) turns the daily anomaly alerts on (:mod:`analysis_lib.analyses.alerts`):
which KPIs and breakdowns to watch, the nominal false-alert rate, thresholds, targets month to
date, severities, the quiet period and the days judged. ``delivery:`` lists where alerts are
sent, each an Apprise URL given by reference only (``env: NAME`` or ``file: /path``): a URL holds
credentials, so it never sits in a params file, a report, results.json or a log.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from analysis_lib.params.base import BaseParams, Date, LocalPath, Strict, require_rows

# the KPIs an alert can watch (analyses.alerts.ALERT_KPIS; spelled here so validating params
# imports no statistics library)
ALERT_KPIS = ("gmv", "orders", "buyers", "uv", "conversion_rate", "aov", "refund_rate")
TARGET_KPIS = ("gmv", "orders", "buyers")
Severity = Literal["info", "warning", "critical"]
_RULE = re.compile(r"^\s*([a-z_]+)\s*(>=|<=|>|<)\s*(-?\d+(?:\.\d+)?%?)\s*$")


def _known_kpi(v: str, allowed=ALERT_KPIS) -> str:
    if v not in allowed:
        near = difflib.get_close_matches(v, allowed, n=1)
        hint = f" (did you mean '{near[0]}'?)" if near else f" (one of: {', '.join(allowed)})"
        raise ValueError(f"unknown KPI '{v}'{hint}")
    return v


class ThresholdRule(Strict):
    """``rule: "refund_rate > 0.08"`` (a KPI, one of > < >= <=, a number; ``8%`` reads as
    0.08): an alert on each day judged where the shop's KPI meets it."""

    rule: str = Field(min_length=3, max_length=100)
    severity: Severity = "warning"

    @field_validator("rule")
    @classmethod
    def _parse(cls, v: str) -> str:
        m = _RULE.match(v)
        if not m:
            raise ValueError(f"'{v}' is not a rule like 'refund_rate > 0.08'")
        _known_kpi(m.group(1))
        return v

    @property
    def parts(self) -> tuple[str, str, float]:
        kpi, op, num = _RULE.match(self.rule).groups()  # type: ignore[union-attr]
        return kpi, op, float(num.rstrip("%")) / (100 if num.endswith("%") else 1)


class TargetRule(Strict):
    """``{kpi: gmv, below: -0.10}``: an alert when the KPI's deviation from its monthly target
    (the ``targets`` table, prorated by the days of the month elapsed) is below ``below`` month
    to date."""

    kpi: str = "gmv"
    below: float = Field(default=-0.10, gt=-1, lt=1)
    severity: Severity = "warning"

    @field_validator("kpi")
    @classmethod
    def _known(cls, v: str) -> str:
        return _known_kpi(v, TARGET_KPIS)


class Severities(Strict):
    """Severity of the model's anomalies and of a day without data."""

    anomaly: Severity = "warning"
    no_data: Severity = "critical"


class JudgeDays(Strict):
    """A backfill: judge every day from ``start`` to ``end`` (within the period)."""

    start: Date
    end: Date

    @model_validator(mode="after")
    def _ordered(self) -> JudgeDays:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self


class AlertRules(Strict):
    """The ``alerts:`` section."""

    kpis: list[str] = Field(default_factory=lambda: list(ALERT_KPIS), min_length=1)
    breakdowns: list[Literal["channel", "device"]] = Field(
        default_factory=lambda: ["channel", "device"]
    )
    # the nominal false-alert rate per KPI-day: the interval's level is 1 - false_alert_rate
    false_alert_rate: float = Field(default=0.002, gt=0, le=0.2)
    history_days: int = Field(default=730, ge=56, le=3660)
    quiet_days: int = Field(default=3, ge=0, le=90)
    severity: Severities = Field(default_factory=Severities)
    thresholds: list[ThresholdRule] = Field(default_factory=list)
    targets: list[TargetRule] = Field(default_factory=list)
    # the days judged: the period's last complete day (its end, or yesterday in the shop's time
    # zone while the period runs on: a feed that has not arrived alerts), or a backfill
    judge: Literal["last_day"] | JudgeDays = "last_day"
    # where the report is published for readers (a link in the message); none: attached only
    report_url: str | None = Field(default=None, max_length=1000, pattern=r"^https?://")

    @field_validator("kpis")
    @classmethod
    def _known(cls, v: list[str]) -> list[str]:
        for k in v:
            _known_kpi(k)
        return list(dict.fromkeys(v))


class UrlRef(Strict):
    """Where one or more Apprise URLs are read at delivery time: ``env: NAME`` (an environment
    variable; several URLs separated by spaces or commas) or ``file: /absolute/path`` (one URL a
    line; outside the params folder). Never the URL itself."""

    env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=100)
    file: LocalPath | None = Field(default=None, min_length=1, max_length=1000)

    @model_validator(mode="after")
    def _one(self) -> UrlRef:
        if (self.env is None) == (self.file is None):
            raise ValueError("give exactly one of 'env' and 'file'")
        if self.file is not None:
            p = Path(self.file).expanduser()
            if not p.is_absolute():
                raise ValueError(f"file '{self.file}' must be an absolute path (outside params)")
            if "params" in p.parts:
                raise ValueError(f"file '{self.file}' must be outside the params folder")
        return self


class KpiMonitorParams(BaseParams):
    """kpi_monitor (数据监控看板): KPIs for a period at a grain, against targets and history;
    with ``alerts``, the days judged against their expected range and alerts delivered."""

    notebook: Literal["kpi_monitor"]
    grain: Literal["day", "week", "month"] = "week"
    alerts: AlertRules | None = None
    delivery: list[UrlRef] = Field(default_factory=list, max_length=20)

    # events optional: most order exports have none; UV and conversion are then left out
    required_tables: ClassVar = {"orders": None}
    optional_tables: ClassVar = {"events": ["event_ts", "user_id"], "targets": None}

    @field_validator("delivery", mode="before")
    @classmethod
    def _by_reference(cls, v):
        """A URL written in the file is refused without repeating it (it may hold a password:
        the message goes to a log)."""
        if isinstance(v, list):
            for i, item in enumerate(v):
                if not isinstance(item, dict):
                    raise ValueError(
                        f"item {i + 1}: give each delivery URL by reference, 'env: NAME' or "
                        "'file: /path' outside params: a URL holds credentials and must not be "
                        "in a params file"
                    )
        return v

    @model_validator(mode="after")
    def _judged_in_period(self) -> KpiMonitorParams:
        a = self.alerts
        j = None if a is None or isinstance(a.judge, str) else a.judge
        if j is not None and (j.start < self.period.start or j.end > self.period.end):
            raise ValueError(
                f"alerts.judge {j.start} to {j.end} must lie within the period "
                f"({self.period.start} to {self.period.end})"
            )
        if self.delivery and a is None:
            raise ValueError("delivery needs an 'alerts:' section (nothing would be sent)")
        return self

    def check_data(self, src, source: str) -> None:
        """The period must hold orders or events (no report of zeros before the data lands)."""
        tables = [(src.table("orders"), "order_ts", "orders")]
        if src.has("events"):
            tables.append((src.table("events"), "event_ts", "events"))
        require_rows(src, source, self.period, tables)
