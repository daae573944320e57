"""Params of market_analysis (市场分析)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from analysis_lib.analyses import market
from analysis_lib.errors import DataError, ParamsError
from analysis_lib.params.base import BaseParams


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
        try:
            market.load(src, self.our_brand)
        except DataError as exc:
            field = "our_brand" if self.our_brand else "data.url"
            raise ParamsError(f"{source}: field '{field}': {exc}") from None
