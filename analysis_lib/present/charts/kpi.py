"""Charts of the kpi report."""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import matplotlib.ticker
import pandas as pd

from analysis_lib.core import metrics as M
from analysis_lib.present.charts.base import PALETTE, _tick
from analysis_lib.present.report import fmt


def contribution_bars(decomp: pd.DataFrame, lang: str = "en", title: str = "") -> plt.Figure:
    """Horizontal bars of each driver's contribution to a change (positive green, negative red)."""
    fig, ax = plt.subplots(figsize=(7, 0.6 * len(decomp) + 1.2))
    labels = [M.label(k, lang) for k in decomp["driver"]]
    vals = decomp["contribution"].fillna(0).to_numpy()
    ax.barh(labels, vals, color=["#16a34a" if v >= 0 else "#dc2626" for v in vals])
    ax.axvline(0, color="#334155", linewidth=0.8)
    for y, v in enumerate(vals):
        ax.text(
            v,
            y,
            " " + fmt(v, "money") + " ",
            va="center",
            ha="left" if v >= 0 else "right",
            fontsize=9,
        )
    ax.invert_yaxis()
    ax.set_title(title)
    ax.margins(x=0.25)
    fig.tight_layout()
    return fig


def actual_vs_target(
    series: pd.DataFrame,
    key: str,
    target_per_bucket: pd.Series | None,
    lang: str = "en",
    title: str = "",
) -> plt.Figure:
    """Bars of a metric per bucket, with the target per bucket as a line where given."""
    fig, ax = plt.subplots(figsize=(9, 3.6))
    x = series["bucket"].dt.strftime("%Y-%m-%d")
    ax.bar(x, series[key], color=PALETTE[0], label=M.label(key, lang))
    if target_per_bucket is not None and target_per_bucket.notna().any():
        ax.plot(
            x,
            target_per_bucket.to_numpy(),
            color=PALETTE[1],
            marker="o",
            label={"en": "Target", "zh": "目标"}[lang],
        )
        ax.legend(loc="upper left")
    kind = M.METRICS[key].kind if key in M.METRICS else "ratio"
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _p: _tick(v, kind)))
    ax.tick_params(axis="x", labelrotation=45, labelsize=8)
    ax.set_title(title)
    fig.tight_layout()
    return fig
