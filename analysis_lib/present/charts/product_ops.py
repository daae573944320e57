"""Charts of the product operations report. Each takes a small aggregated frame and the words to
draw (from the report module, in the report's language) and returns a Figure.

House rules (REPORTS.md "Charts"): an axis title with the unit, the legend outside the bars, at
most about seven colours, the urgent actions in the colours that stand out (restock red).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np
import pandas as pd

from analysis_lib.present.charts.base import PALETTE

# one colour per action, the most urgent the loudest; "keep" recedes
ACTION_COLORS = {
    "restock": PALETTE[3],  # red
    "clear (promotion / live stream)": PALETTE[1],  # orange
    "delist": PALETTE[4],  # purple
    "clear or delist": PALETTE[6],  # ochre
    "bundle": PALETTE[0],  # blue
    "keep": "#cbd5e1",  # light grey
}


def actions_by_category(
    counts: pd.DataFrame, labels: dict[str, str], title: str, x_title: str
) -> plt.Figure:
    """Horizontal stacked bars: SKUs per action (columns of ``counts``, most urgent first) in each
    category (rows, the first at the top); ``labels`` names the actions in the legend, which sits
    to the right of the bars."""
    n = len(counts)
    fig, ax = plt.subplots(figsize=(9, max(2.4, 0.45 * n + 1.3)))
    y = np.arange(n)
    left = np.zeros(n)
    for action in counts.columns:
        vals = counts[action].to_numpy(dtype=float)
        ax.barh(
            y,
            vals,
            left=left,
            label=labels[action],
            color=ACTION_COLORS.get(action, PALETTE[7]),
        )
        left += vals
    ax.set_yticks(y, [str(c) for c in counts.index])
    ax.invert_yaxis()
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.set_xlabel(x_title)
    ax.set_title(title, loc="left")
    ax.grid(axis="y", visible=False)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    fig.tight_layout()
    return fig
