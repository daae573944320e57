"""Charts of the abtest report."""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import matplotlib.ticker
import pandas as pd

from analysis_lib.present.charts.base import PALETTE
from analysis_lib.present.report import fmt


def interval_plot(
    df: pd.DataFrame, label_col: str, est: str, lo: str, hi: str, title: str = ""
) -> plt.Figure:
    """Estimates with intervals, one row each (a forest plot), a line at zero; relative changes."""
    fig, ax = plt.subplots(figsize=(8, 0.5 * len(df) + 1.4))
    y = range(len(df))
    colors = [
        PALETTE[2] if lo_ > 0 else PALETTE[3] if hi_ < 0 else PALETTE[7]
        for lo_, hi_ in zip(df[lo], df[hi], strict=True)
    ]
    for yi, e, l_, h_, c in zip(y, df[est], df[lo], df[hi], colors, strict=True):
        ax.errorbar([e], [yi], xerr=[[e - l_], [h_ - e]], fmt="o", color=c, ecolor=c, capsize=4)
    ax.axvline(0, color="#334155", linewidth=0.8)
    ax.set_yticks(list(y), df[label_col])
    ax.xaxis.set_major_formatter(
        matplotlib.ticker.FuncFormatter(lambda v, _p: fmt(v, "signed_pct"))
    )
    ax.invert_yaxis()
    ax.set_title(title)
    fig.tight_layout()
    return fig


def band_trend(
    df: pd.DataFrame, x: str, est: str, lo: str, hi: str, hue: str, title: str = ""
) -> plt.Figure:
    """A line per ``hue`` value with its interval as a band (e.g. cumulative lift by day)."""
    fig, ax = plt.subplots(figsize=(9, 3.4))
    for i, (name, g) in enumerate(df.groupby(hue)):
        c = PALETTE[i % len(PALETTE)]
        ax.plot(g[x], g[est], color=c, label=str(name))
        ax.fill_between(g[x], g[lo], g[hi], color=c, alpha=0.15)
    ax.axhline(0, color="#334155", linewidth=0.8)
    ax.yaxis.set_major_formatter(
        matplotlib.ticker.FuncFormatter(lambda v, _p: fmt(v, "signed_pct"))
    )
    ax.legend(loc="upper right")
    ax.set_title(title)
    ax.tick_params(axis="x", labelrotation=30)
    fig.tight_layout()
    return fig
