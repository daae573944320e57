"""Charts of the customer value report: cohort heatmaps, the holdout check of the CLV model,
predicted CLV by segment. Each takes a small aggregated frame and the words to draw (titles, axis
titles, labels come from the report module, in the report's language) and returns a Figure.

House rules (REPORTS.md "Charts"): axis titles with units, legends outside the data, heatmap
annotations of at least 9 pt, one sequential colour scale per measure (retention and GMV are never
negative: no diverging scale), cells the data does not reach left empty.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np
import pandas as pd

from analysis_lib.present.charts.base import PALETTE, fit_width
from analysis_lib.present.numbers import fmt

ANNOT_PT = 9  # the smallest text a chart may hold


def cohort_heatmap(
    matrix: pd.DataFrame,
    kind: str,
    title: str,
    x_title: str,
    y_title: str,
    col_labels: list[str] | None = None,
) -> plt.Figure:
    """A heatmap of cohorts (rows, oldest first) by months since the first order (columns):
    retention shares (``kind="pct"``) or cumulative GMV per customer (``kind="money"``, cells in
    whole units: the axis title carries the currency). Empty cells: months not reached yet."""
    data = matrix.astype(float)
    cells = data.map(lambda v: "" if np.isnan(v) else _cell(v, kind))
    n_rows, n_cols = data.shape
    width = fit_width(max(6.0, 0.7 * n_cols + 2.2))  # never shrunk on the page: cells stay 9 pt
    height = max(2.6, 0.34 * n_rows + 1.6)
    import seaborn as sns  # here: importing seaborn imports scipy.stats and statsmodels

    fig, ax = plt.subplots(figsize=(width, height))
    sns.heatmap(
        data,
        annot=cells,
        fmt="",
        cmap="Blues",
        ax=ax,
        cbar=False,
        linewidths=0.5,
        linecolor="white",
        annot_kws={"fontsize": ANNOT_PT},
    )
    ax.set_title(title, loc="left")
    ax.set_xlabel(x_title)
    ax.set_ylabel(y_title)
    ax.set_xticklabels(col_labels or [str(c) for c in data.columns], rotation=0)
    ax.set_yticklabels([str(i) for i in data.index], rotation=0)
    ax.tick_params(labelsize=ANNOT_PT)
    ax.grid(False)
    fig.tight_layout()
    return fig


def _cell(v: float, kind: str) -> str:
    """A heatmap cell: a share with one decimal, money in whole units (the axis carries the
    currency)."""
    return fmt(v, "pct") if kind == "pct" else fmt(v, "count")


def holdout_bars(
    check: pd.DataFrame,
    labels: dict[str, str],
    title: str,
    x_title: str,
    y_title: str,
) -> plt.Figure:
    """Actual and predicted repeat purchases per customer in the holdout, by repeat purchases in
    the calibration period (the check of Fader, Hardie & Lee 2005); the legend beside the plot."""
    fig, ax = plt.subplots(figsize=(9, 3.6))
    x = np.arange(len(check))
    width = 0.38
    for i, col in enumerate(["actual", "predicted"]):
        ax.bar(x + (i - 0.5) * width, check[col], width, label=labels[col], color=PALETTE[i])
    ax.set_xticks(x, check["calibration_repeats"].astype(str))
    ax.set_xlabel(x_title)
    ax.set_ylabel(y_title)
    ax.set_title(title, loc="left")
    ax.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(5))
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    fig.tight_layout()
    return fig


def clv_by_segment(
    by_segment: pd.DataFrame, segment_labels: list[str], title: str, x_title: str
) -> plt.Figure:
    """Horizontal bars of predicted GMV per segment (in the order given, first at the top), each
    bar labelled with its figure; the axis title carries the currency."""
    n = len(by_segment)
    fig, ax = plt.subplots(figsize=(9, max(2.4, 0.42 * n + 1.3)))
    y = np.arange(n)
    vals = by_segment["clv_total"].to_numpy(dtype=float)
    ax.barh(y, vals, color=PALETTE[0])
    ax.set_yticks(y, segment_labels)
    ax.invert_yaxis()
    top = float(np.nanmax(vals)) if n else 1.0
    for yi, v in zip(y, vals, strict=True):
        ax.text(v + top * 0.01, yi, fmt(v, "count"), va="center", fontsize=ANNOT_PT)
    ax.set_xlim(0, top * 1.18 if top > 0 else 1)
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _p: fmt(v, "count")))
    ax.set_xlabel(x_title)
    ax.set_title(title, loc="left")
    ax.grid(axis="y", visible=False)
    fig.tight_layout()
    return fig
