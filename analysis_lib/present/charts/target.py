"""Charts of the target report: monthly GMV history, the forecast median with its interval, and
the monthly targets."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from analysis_lib.present.charts.base import (
    PALETTE,
    date_axis,
    legend_outside,
    value_axis,
)
from analysis_lib.present.words import t


def w(key: str, /, **values) -> str:
    return t(f"target_setting.{key}", **values)


def forecast_chart(
    history: pd.Series,
    fc: pd.DataFrame,
    monthly_target: pd.Series | None = None,
    level: str = "80%",
    actual: pd.Series | None = None,
) -> plt.Figure:
    """History as a line; the forecast median (``fc['median']``) dashed with its interval
    (``ci_low``..``ci_high``) as a band; the monthly targets as markers; the target year's actual
    months (``actual``: complete months only) as a line of their own colour, so a year running
    above its forecast is seen. The legend sits to the right of the data, the money axis carries
    the currency."""
    fig, ax = plt.subplots(figsize=(10.4, 3.8))
    ax.plot(
        history.index,
        history.to_numpy(float),
        color=PALETTE[0],
        marker="o",
        markersize=3,
        label=w("chart.history"),
    )
    ax.fill_between(
        fc.index,
        fc["ci_low"].to_numpy(float),
        fc["ci_high"].to_numpy(float),
        color=PALETTE[1],
        alpha=0.2,
        linewidth=0,
        label=w("chart.interval", level=level),
    )
    ax.plot(
        fc.index,
        fc["median"].to_numpy(float),
        color=PALETTE[1],
        linestyle="--",
        label=w("chart.median"),
    )
    if monthly_target is not None:
        ax.plot(
            monthly_target.index,
            monthly_target.to_numpy(float),
            linestyle="none",
            marker="_",
            markersize=12,
            markeredgewidth=2,
            color=PALETTE[3],
            label=w("chart.monthly_target"),
        )
    if actual is not None and len(actual):
        ax.plot(
            actual.index,
            actual.to_numpy(float),
            color=PALETTE[2],
            marker="o",
            markersize=4,
            label=w("chart.actual"),
        )
    date_axis(ax)
    value_axis(ax, "money", w("chart.gmv_axis"))
    ax.set_ylim(bottom=0)
    ax.set_title(w("chart.forecast_title", level=level))
    legend_outside(ax)
    fig.tight_layout()
    return fig
