"""Charts of the market report: the monthly trend (market size, our share, our rank with 1 at the
top, each against the same month a year earlier) and the growth x share matrix of categories."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import FixedLocator

from analysis_lib.present.charts.base import (
    FADED,
    PALETTE,
    axis_title,
    date_axis,
    legend_outside,
    rank_axis,
    value_axis,
)
from analysis_lib.present.numbers import fmt
from analysis_lib.present.words import t, value

QUADRANT_COLORS = {
    "opportunity": PALETTE[1],
    "star": PALETTE[2],
    "defend": PALETTE[0],
    "deprioritise": PALETTE[7],
}
MAX_BUBBLE_PT2 = 1600.0  # the largest category's bubble (area in points²): 40 pt across


def w(key: str, /, **values) -> str:
    return t(f"market_analysis.{key}", **values)


def market_trend(window: pd.DataFrame, earlier: pd.DataFrame | None) -> plt.Figure:
    """Three panels over the analysed months: market size, our share, our rank (1 at the top).
    ``window`` and ``earlier`` are rows of :func:`analysis_lib.analyses.market.by_period` for the
    analysed months and the same months a year earlier (``None`` without them); the earlier
    months are drawn faded at the month they compare with."""
    fig, axes = plt.subplots(1, 3, figsize=(10.4, 3.4))
    x = pd.PeriodIndex(window["period"], freq="M").to_timestamp()
    panels = (
        ("market_size", "money", w("chart.size_axis")),
        ("our_share", "pct", w("chart.share_axis")),
        ("our_rank", "rank", None),
    )
    for ax, (col, kind, title) in zip(axes, panels, strict=True):
        if earlier is not None and len(earlier) == len(window):
            ax.plot(
                x,
                earlier[col].to_numpy(float),
                color=FADED,
                linewidth=1.4,
                label=w("chart.year_earlier"),
            )
        ax.plot(
            x,
            window[col].to_numpy(float),
            color=PALETTE[0],
            marker="o",
            markersize=3.5,
            linewidth=1.8,
            label=w("chart.this_year"),
        )
        date_axis(ax, maxticks=4)
        if kind == "rank":
            rank_axis(ax)
            worst = int(np.nanmax(ax.get_ylim()))
            if worst <= 10:  # every rank labelled, #1 included (a locator may skip it)
                ax.yaxis.set_major_locator(FixedLocator(range(1, worst + 1)))
            ax.set_title(w("chart.rank_axis"))
        else:
            value_axis(ax, kind)
            ax.set_title(axis_title(title, kind))
        ax.set_ylabel("")
    handles, labels = axes[-1].get_legend_handles_labels()
    if len(handles) > 1:
        fig.legend(
            handles,
            labels,
            loc="lower center",
            ncol=len(handles),
            frameon=False,
            bbox_to_anchor=(0.5, -0.02),
        )
        fig.tight_layout(rect=(0, 0.08, 1, 1))
    else:
        fig.tight_layout()
    return fig


def growth_share(table: pd.DataFrame, growth_split: float, share_split: float) -> plt.Figure:
    """The growth x share matrix: one bubble per category (area = market size), coloured by
    quadrant, split lines at the market's growth and our overall share. The axes are widened by
    the largest bubble's radius so no bubble is cut at the edge; category names sit beside their
    bubble, the quadrant legend outside the data."""
    fig, ax = plt.subplots(figsize=(9.5, 5.2))
    size = MAX_BUBBLE_PT2 * table["market_size"] / table["market_size"].max()
    for q, color in QUADRANT_COLORS.items():
        sel = table["quadrant"] == q
        if sel.any():
            ax.scatter(
                table.loc[sel, "our_share"],
                table.loc[sel, "growth_yoy"],
                s=size[sel],
                color=color,
                alpha=0.6,
                edgecolors="white",
                linewidths=0.8,
                label=w(f"quadrant.{q}"),
            )
    for r, s_ in zip(table.itertuples(), size, strict=True):
        ax.annotate(
            value("category", r.category),  # the catalog's name, else the data's
            (r.our_share, r.growth_yoy),
            xytext=(np.sqrt(s_) / 2 + 3, 0),
            textcoords="offset points",
            ha="left",
            va="center",
            fontsize=9.5,
        )
    ax.axvline(share_split, color="#334155", linewidth=0.8, linestyle="--")
    ax.axhline(growth_split, color="#334155", linewidth=0.8, linestyle="--")
    _pad(ax, table["our_share"], table["growth_yoy"])
    ax.annotate(
        w("chart.market_growth_line", growth=fmt(growth_split, "signed_pct")),
        (1.0, growth_split),
        xycoords=("axes fraction", "data"),
        xytext=(-4, 4),
        textcoords="offset points",
        ha="right",
        va="bottom",
        fontsize=9,
        color="#334155",
    )
    ax.annotate(
        w("chart.our_share_line", share=fmt(share_split, "pct")),
        (share_split, 1.0),
        xycoords=("data", "axes fraction"),
        xytext=(4, -4),
        textcoords="offset points",
        ha="left",
        va="top",
        fontsize=9,
        color="#334155",
    )
    value_axis(ax, "pct", w("chart.share_x"), axis="x")
    value_axis(ax, "signed_pct", w("chart.growth_y"))
    ax.set_title(w("chart.matrix_title"))
    leg = legend_outside(ax)
    if leg is not None:  # one marker size in the legend: colour is the quadrant, not the size
        for h in leg.legend_handles:
            h.set_sizes([90])
    fig.tight_layout()
    return fig


def _pad(ax, xs: pd.Series, ys: pd.Series) -> None:
    """Limits with room for the largest bubble (radius 20 pt) and its label on the right."""
    x0, x1 = float(xs.min()), float(xs.max())
    y0, y1 = float(ys.min()), float(ys.max())
    dx = (x1 - x0) or abs(x0) or 0.1
    dy = (y1 - y0) or abs(y0) or 0.1
    ax.set_xlim(x0 - 0.12 * dx, x1 + 0.28 * dx)  # category names to the right of the bubbles
    ax.set_ylim(y0 - 0.18 * dy, y1 + 0.18 * dy)
