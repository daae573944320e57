"""Charts of the market report."""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import matplotlib.ticker
import pandas as pd

from analysis_lib.present.charts.base import PALETTE
from analysis_lib.present.report import fmt


def growth_share(
    matrix: pd.DataFrame, growth_split: float, share_split: float, title: str = ""
) -> plt.Figure:
    """The growth x share matrix: one bubble per category (size = market size), split lines."""
    fig, ax = plt.subplots(figsize=(8, 5))
    size = 2000 * matrix["market_size"] / matrix["market_size"].max()
    colors = {
        "opportunity": PALETTE[1],
        "star": PALETTE[2],
        "defend": PALETTE[0],
        "deprioritise": PALETTE[7],
    }
    ax.scatter(
        matrix["our_share"],
        matrix["growth_yoy"],
        s=size,
        c=[colors[q] for q in matrix["quadrant"]],
        alpha=0.6,
    )
    for _, r in matrix.iterrows():
        ax.annotate(
            str(r["category"]),
            (r["our_share"], r["growth_yoy"]),
            ha="center",
            va="center",
            fontsize=9,
        )
    ax.axvline(share_split, color="#334155", linewidth=0.8, linestyle="--")
    ax.axhline(growth_split, color="#334155", linewidth=0.8, linestyle="--")
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _p: fmt(v, "pct")))
    ax.yaxis.set_major_formatter(
        matplotlib.ticker.FuncFormatter(lambda v, _p: fmt(v, "signed_pct"))
    )
    ax.set_xlabel("our share")
    ax.set_ylabel("growth YoY")
    ax.set_title(title)
    fig.tight_layout()
    return fig
