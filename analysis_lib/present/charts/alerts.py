"""The alerts chart of the KPI monitor: each flagged KPI per day, its expected value and band on
the days judged (from :func:`analysis_lib.analyses.alerts.series_values`), the flagged days in red.

House rules (REPORTS.md): the title says what to see, value axes carry the unit, dates concise,
the legend outside the data, text of at least 9 pt (the theme and helpers of ``charts.base``).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from analysis_lib.present.charts.base import (
    FADED,
    PALETTE,
    axis_title,
    date_axis,
    fit_width,
    value_axis,
)

RED = "#dc2626"


def flagged(
    panels: list[tuple[str, str, pd.DataFrame]],
    names: dict[str, str],
) -> plt.Figure:
    """One panel per flagged series: ``(title, kind, frame)`` with the frame's ``day``,
    ``actual`` and, on the days judged, ``expected``, ``ci_low``, ``ci_high``, ``anomaly``.
    ``names``: the legend's words (``actual``, ``band``, ``flagged``)."""
    n = len(panels)
    ncols = 1 if n == 1 else 2
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(fit_width(5.0 * ncols + 1.6), 2.8 * nrows), squeeze=False
    )
    for ax, (title, kind, df) in zip(axes.flat, panels, strict=False):
        day = pd.to_datetime(df["day"])
        ax.plot(day, df["actual"], color=PALETTE[0], lw=1.2)
        judged = df["expected"].notna() if "expected" in df else pd.Series(False, index=df.index)
        if judged.any():
            j = df[judged]
            jd = pd.to_datetime(j["day"])
            if len(j) > 1:
                ax.fill_between(jd, j["ci_low"], j["ci_high"], color=FADED, alpha=0.35, lw=0)
                ax.plot(jd, j["expected"], color=FADED, lw=1.0, ls="--")
            else:
                ax.errorbar(
                    jd,
                    j["expected"],
                    yerr=[j["expected"] - j["ci_low"], j["ci_high"] - j["expected"]],
                    color=FADED,
                    lw=6,
                    alpha=0.6,
                    capsize=0,
                    fmt="none",
                )
            hit = j[j["anomaly"].astype(bool)]
            ax.scatter(pd.to_datetime(hit["day"]), hit["actual"], color=RED, zorder=5, s=28)
        ax.set_title(axis_title(title, kind))
        value_axis(ax, kind)
        date_axis(ax)
        lo = np.nanmin([df["actual"].min(), df.get("ci_low", df["actual"]).min(), 0.0])
        ax.set_ylim(bottom=min(lo, 0.0))
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    handles = [
        Line2D([], [], color=PALETTE[0], lw=1.2, label=names["actual"]),
        Patch(color=FADED, alpha=0.5, label=names["band"]),
        Line2D([], [], color=RED, marker="o", ls="", label=names["flagged"]),
    ]
    axes[0, ncols - 1].legend(
        handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False
    )
    fig.tight_layout()
    return fig
