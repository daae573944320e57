"""Params of intervention_impact: a KPI series file, its controls and the intervention."""

from __future__ import annotations

import datetime as _dt
from typing import Annotated, ClassVar, Literal

import pandas as pd
from pydantic import Field

from analysis_lib.errors import DataError, ParamsError
from analysis_lib.params.base import BaseParams, Date, LocalPath, Strict


class SeriesSpec(Strict):
    """A KPI series file for intervention_impact."""

    path: LocalPath
    date_column: str | None = "date"
    y: str
    controls: list[str] = Field(default=[], max_length=20)
    sep: str | None = None
    kind: Literal["flow", "level"] = "flow"
    """``flow``: a quantity per period (sales, visits, sign-ups): its sum over the post-period
    means something, and the report gives the cumulative effect. ``level``: a state measured at
    each point (a share price, an index, a stock level): a sum over periods means nothing, so the
    report gives the average effect only (as with R CausalImpact, whose cumulative row only makes
    sense for a flow)."""


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
        # lazy on purpose: every run imports every schema's module, and analyses.causal imports
        # its state-space model (scipy) that validation of other notebooks does not need
        from analysis_lib.analyses import causal

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
