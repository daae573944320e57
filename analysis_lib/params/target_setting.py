"""Params of target_setting (目标设定): target year, scenarios, the targets table written."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Literal

import pandas as pd
from pydantic import Field, field_validator, model_validator

from analysis_lib.core import metrics as M
from analysis_lib.core.data import as_date_bounds
from analysis_lib.errors import ParamsError
from analysis_lib.params.base import BaseParams, LocalPath, Strict, check_title, title_in


class Scenario(Strict):
    """A what-if scenario: relative changes of the drivers (0.05 = +5%)."""

    # one text, or one per language ({en: ..., zh: ...}), as a title: a Chinese report shows
    # the analyst's Chinese name
    name: str | dict[str, str]
    uv: float = Field(default=0.0, gt=-1, le=10)
    conversion: float = Field(default=0.0, gt=-1, le=10)
    aov: float = Field(default=0.0, gt=-1, le=10)

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, v: Any) -> str | dict[str, str]:
        v = check_title(v)
        if any(len(x) > 80 for x in ([v] if isinstance(v, str) else v.values())):
            raise ValueError("String should have at most 80 characters")
        return v


class TargetSettingParams(BaseParams):
    """target_setting (目标设定): ``period`` is the history the forecast is fitted on; the target
    is for ``target_year``."""

    notebook: Literal["target_setting"]
    target_year: int = Field(ge=1990, le=2100)
    annual_target: float = Field(gt=0, description="GMV target for target_year")
    seasonal: bool = True
    promo_calendar: bool = False
    interval: float = Field(default=0.8, gt=0.5, lt=1)
    # who owns each target (e.g. {gmv: "Head of operations"}); none by default: the report names
    # no owner the analyst did not give
    owners: dict[str, str] = {}
    # free text shown beside every target (e.g. "marketing budget as 2025 plus 10%"): one text,
    # or one per language ({en: ..., zh: ...})
    resources: str | dict[str, str] = ""
    scenarios: list[Scenario] = Field(default=[], max_length=10)
    write_targets: LocalPath | None = Field(default=None, max_length=500, pattern=r"\.parquet$")
    allow_outside_exports: bool = False

    @field_validator("resources", mode="before")
    @classmethod
    def _resources(cls, v: Any) -> str | dict[str, str]:
        return "" if v in ("", None) else check_title(v)

    @property
    def resources_text(self) -> str:
        """The resources in the report's language (its entry, else the other language's)."""
        return title_in(self.resources, self.lang) if self.resources else ""

    @property
    def what_if(self) -> list[dict]:
        """The scenarios as the analysis takes them, each name in the report's language."""
        return [s.model_dump() | {"name": title_in(s.name, self.lang)} for s in self.scenarios]

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
