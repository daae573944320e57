"""Params of campaign_retro (活动复盘): the campaign, its controls, the counterfactual's prior."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field, model_validator

from analysis_lib.errors import DataError, ParamsError
from analysis_lib.params.base import BaseParams, LocalPath, Strict


class SeriesControls(Strict):
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
        # lazy on purpose: every run imports every schema's module, and analyses.campaign imports
        # scipy and statsmodels (about 2 s of CPU) that validation does not need
        from analysis_lib.analyses import campaign

        for cid in [self.campaign_id, *self.compare_with]:
            try:
                camp = campaign.load(src, cid, self.post_window)
            except DataError as exc:
                raise ParamsError(f"{source}: field 'campaign_id': {exc}") from None
            if cid == self.campaign_id and camp.preheat_start <= self.period.end:
                raise ParamsError(
                    f"{source}: field 'period': the pre-period must end before the campaign's pre-heat ({camp.preheat_start})"
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
