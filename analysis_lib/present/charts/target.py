"""Charts of the target report."""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import matplotlib.ticker
import pandas as pd

from analysis_lib.present.charts.base import PALETTE, _tick


def forecast_chart(
    history: pd.Series, fc: pd.DataFrame, label: str = "", title: str = ""
) -> plt.Figure:
    """History as a line, the forecast mean as a dashed line with its interval as a band."""
    fig, ax = plt.subplots(figsize=(9, 3.6))
    ax.plot(
        history.index, history.to_numpy(), color=PALETTE[0], marker="o", markersize=3, label=label
    )
    ax.plot(fc.index, fc["mean"], color=PALETTE[1], linestyle="--", label="forecast")
    ax.fill_between(fc.index, fc["lo"], fc["hi"], color=PALETTE[1], alpha=0.2)
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _p: _tick(v, "money")))
    ax.legend(loc="upper left")
    ax.set_title(title)
    fig.tight_layout()
    return fig
