"""Charts of the funnel report."""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import matplotlib.ticker
import pandas as pd

from analysis_lib.present.charts.base import PALETTE, _duration
from analysis_lib.present.report import fmt


def funnel_bars(table: pd.DataFrame, lang: str = "en", title: str = "") -> plt.Figure:
    """The funnel: one bar per step (units), labelled with overall and step conversion."""
    fig, ax = plt.subplots(figsize=(8, 0.55 * len(table) + 1.2))
    ax.barh(table["step"], table["units"], color=PALETTE[0])
    top = table["units"].max()
    for y, (n, oc, sc) in enumerate(
        zip(table["units"], table["overall_conversion"], table["step_conversion"], strict=True)
    ):
        label = f" {fmt(n)}  ({fmt(oc, 'pct')} {'overall' if lang == 'en' else '总转化'}; {fmt(sc, 'pct')} {'step' if lang == 'en' else '步骤转化'})"
        ax.text(n, y, label, va="center", fontsize=9)
    ax.set_xlim(0, top * 1.8)
    ax.invert_yaxis()
    ax.set_title(title)
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _p: fmt(v)))
    fig.tight_layout()
    return fig


def duration_histogram(hist: pd.DataFrame, title: str = "") -> plt.Figure:
    """Bars of units per time-to-convert bin (log-spaced upper bounds in seconds)."""
    fig, ax = plt.subplots(figsize=(9, 3.2))
    labels = [_duration(u) for u in hist["upper_s"]]
    ax.bar(labels, hist["units"], color=PALETTE[2])
    ax.tick_params(axis="x", labelrotation=45, labelsize=8)
    ax.set_title(title)
    fig.tight_layout()
    return fig
