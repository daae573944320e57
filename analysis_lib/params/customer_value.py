"""Params of customer_value (用户价值): calibration, CLV horizon, the segment export."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, model_validator

from analysis_lib.analyses.customers import NamedSegment
from analysis_lib.core import metrics as M
from analysis_lib.params.base import BaseParams, CsvExport, Date, require_rows


class SegmentExport(CsvExport):
    """Export the ids of one RFM segment to a CSV for the CRM (outside reports/)."""

    segment: NamedSegment


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
        orders = M.valid_orders(src.table("orders"))
        require_rows(src, source, self.period, [(orders, "order_ts", "valid orders")])
