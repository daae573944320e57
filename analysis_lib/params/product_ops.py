"""Params of product_ops (商品运营)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from analysis_lib.params.base import BaseParams


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
