"""Charts: the theme and house rules (:mod:`.base`) and one module per report. Each function takes
small aggregated frames and returns a matplotlib Figure; none computes a figure a report shows."""

from analysis_lib.present.charts.abtest import band_trend, interval_plot
from analysis_lib.present.charts.base import (
    cjk_font_path,
    empty_chart,
    grouped_bars,
    heatmap,
    kpi_trend,
    rate_trend,
    setup,
)
from analysis_lib.present.charts.funnel import duration_histogram, funnel_bars
from analysis_lib.present.charts.impact import impact_chart
from analysis_lib.present.charts.kpi import actual_vs_target, contribution_bars
from analysis_lib.present.charts.market import growth_share
from analysis_lib.present.charts.target import forecast_chart

__all__ = [
    "actual_vs_target",
    "band_trend",
    "cjk_font_path",
    "contribution_bars",
    "duration_histogram",
    "empty_chart",
    "forecast_chart",
    "funnel_bars",
    "grouped_bars",
    "growth_share",
    "heatmap",
    "impact_chart",
    "interval_plot",
    "kpi_trend",
    "rate_trend",
    "setup",
]
