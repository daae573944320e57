"""Params of funnel (漏斗分析): steps, window, exclusions, breakdowns, the drop-off export."""

from __future__ import annotations

import difflib
from typing import ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from analysis_lib.analyses.funnel_walk import parse_window
from analysis_lib.errors import ParamsError
from analysis_lib.params.base import BaseParams, CsvExport, Period, Strict, require_rows


class DropoffExport(CsvExport):
    """Export the ids of units that reached ``step`` but not the next one (the report shows
    counts only)."""

    step: str


class FunnelExclusion(Strict):
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
        # lazy on purpose: every run imports every schema's module, and analyses.funnel imports
        # scipy and statsmodels (about 2 s of CPU) that validation does not need
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
