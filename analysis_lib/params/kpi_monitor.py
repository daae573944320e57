"""Params of kpi_monitor (数据监控看板)."""

from __future__ import annotations

from typing import ClassVar, Literal

from analysis_lib.params.base import BaseParams, require_rows


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
