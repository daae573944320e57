"""Charts of the A/B test report: the interval (forest) plot of every comparison and the cumulative
change by day of assignment. They take small frames and the words to draw (titles, axis titles,
legend labels come from the report's narrative); every number on them goes through
:func:`analysis_lib.present.numbers.fmt`."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.patches import Patch

from analysis_lib.present.charts.base import PALETTE, date_axis, legend_outside, value_axis
from analysis_lib.present.numbers import fmt

GOOD, BAD, NEUTRAL = PALETTE[2], PALETTE[3], PALETTE[7]
TONE_COLORS = {"good": GOOD, "bad": BAD, "neutral": NEUTRAL}


def interval_plot(
    df: pd.DataFrame,
    label_col: str,
    est: str,
    lo: str,
    hi: str,
    title: str = "",
    *,
    xlabel: str = "",
    tone_col: str | None = None,
    legend: Mapping[str, str] | None = None,
) -> plt.Figure:
    """Estimates with intervals, one row each (a forest plot), a line at zero. Each row is
    coloured by ``tone_col`` (good / bad / neutral: better, worse, inconclusive for its metric),
    else by where its interval lies against zero; ``legend`` names the tones shown, outside the
    plot."""
    fig, ax = plt.subplots(figsize=(8, 0.55 * len(df) + 1.8))
    y = np.arange(len(df))
    if tone_col:
        tones = list(df[tone_col])
    else:
        tones = [
            "good" if lo_ > 0 else "bad" if hi_ < 0 else "neutral"
            for lo_, hi_ in zip(df[lo], df[hi], strict=True)
        ]
    for yi, e, l_, h_, tone in zip(y, df[est], df[lo], df[hi], tones, strict=True):
        c = TONE_COLORS[tone]
        ax.errorbar([e], [yi], xerr=[[e - l_], [h_ - e]], fmt="o", color=c, ecolor=c, capsize=4)
    ax.axvline(0, color="#334155", linewidth=0.8)
    ax.set_yticks(list(y), list(df[label_col]))
    ax.set_ylim(len(df) - 0.5, -0.5)  # first row at the top
    value_axis(ax, "signed_pct", xlabel or None, axis="x")
    ax.set_title(title)
    if legend:
        handles = [Patch(color=TONE_COLORS[k], label=v) for k, v in legend.items() if k in tones]
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    fig.tight_layout()
    return fig


def band_trend(
    df: pd.DataFrame,
    x: str,
    est: str,
    lo: str,
    hi: str,
    hue: str,
    title: str = "",
    *,
    ylabel: str = "",
    names: Mapping[str, str] | None = None,
    band_names: Mapping[str, str] | None = None,
    off_scale: str = "",
) -> plt.Figure:
    """A line per ``hue`` value (named by ``names``) with its interval as a band (named by
    ``band_names``) over dates, e.g. the cumulative change by day of assignment; a line at zero,
    concise dates (they say what the axis is), the legend outside the data.

    The first days rest on a handful of units: their estimates swing (+96% on day one) and their
    intervals are very wide. The value axis is scaled to the later two thirds of the days (line
    and band), so the estimate the test settles on can be read; the early band is cut at the
    axis, and an early estimate beyond it is not drawn as a line running off the chart but as a
    triangle at the edge labelled with its value (legend: ``off_scale``)."""
    fig, ax = plt.subplots(figsize=(9, 3.6))
    days = sorted(df[x].unique())
    later = df[df[x] >= days[len(days) // 3]] if len(days) >= 3 else df
    vals = pd.concat([later[lo], later[hi], later[est]]).replace([np.inf, -np.inf], np.nan).dropna()
    ylim = None
    if len(vals):
        span = max(vals.max() - vals.min(), 0.02)
        ylim = (vals.min() - 0.1 * span, vals.max() + 0.1 * span)
    marked = False
    for i, (key, g) in enumerate(df.groupby(hue)):
        g = g.sort_values(x)
        c = PALETTE[i % len(PALETTE)]
        name = (names or {}).get(str(key), str(key))
        y = g[est].to_numpy(float)
        out = np.zeros(len(y), dtype=bool)
        if ylim is not None:
            out = (y < ylim[0]) | (y > ylim[1])
        ax.plot(g[x], np.where(out, np.nan, y), color=c, label=name)
        band = (band_names or {}).get(str(key))
        ax.fill_between(g[x], g[lo], g[hi], color=c, alpha=0.15, label=band)
        if out.any():
            inset = 0.04 * (ylim[1] - ylim[0])
            for xi, yi in zip(g[x][out], y[out], strict=True):
                up = yi > ylim[1]
                edge = ylim[1] - inset if up else ylim[0] + inset
                ax.plot(
                    [xi], [edge], marker="^" if up else "v", color=c, linestyle="none",
                    label=None if marked else off_scale or None,
                )  # fmt: skip
                marked = True
                ax.annotate(
                    fmt(yi, "signed_pct"), (xi, edge), xytext=(6, 0), textcoords="offset points",
                    va="center", fontsize=9, color=c,
                )  # fmt: skip
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.axhline(0, color="#334155", linewidth=0.8)
    value_axis(ax, "signed_pct", ylabel or None)
    date_axis(ax)
    legend_outside(ax)
    ax.set_title(title)
    fig.tight_layout()
    return fig
