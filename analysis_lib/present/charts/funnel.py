"""Charts of the funnel report: the funnel's bars, step conversion by segment, the trend by entry
cohort and the time to convert. Each takes the small frames of
:mod:`analysis_lib.analyses.funnel` and returns a Figure; words come from the catalog and numbers
from :func:`analysis_lib.present.numbers.fmt`, as in the report's tables, so a bar label and the
table beside it print the same figure. House rules (REPORTS.md "Charts") through
:mod:`analysis_lib.present.charts.base`.
"""

from __future__ import annotations

import datetime as _dt

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter, MaxNLocator

from analysis_lib.present.charts.base import (
    PALETTE,
    complete_buckets,
    date_axis,
    empty_chart,
    heatmap,
    legend_outside,
    trend_line,
    value_axis,
)
from analysis_lib.present.numbers import fmt
from analysis_lib.present.words import t, value


def _cap(text: str) -> str:
    """``users`` → ``Users`` (a no-op on Chinese)."""
    return text[:1].upper() + text[1:]


def count_axis(ax: plt.Axes, title: str, axis: str = "y") -> None:
    """A count axis in full digits (``2,000`` / ``2,000``, never ``0.2万``: a count on a funnel
    axis is read against the table's counts), whole numbers only, with its title."""
    value_axis(ax, "count", title, axis=axis)
    a = ax.yaxis if axis == "y" else ax.xaxis
    a.set_major_locator(MaxNLocator(integer=True, min_n_ticks=3))
    a.set_major_formatter(FuncFormatter(lambda v, _pos: fmt(v, "count")))


def funnel_bars(table: pd.DataFrame, unit: str, title: str = "") -> plt.Figure:
    """The funnel: one bar per step (``units``), labelled with the count, the overall and the
    step conversion; ``unit`` names what is counted (users, sessions). The count axis ends at the
    largest bar: a label that would run past it goes inside its bar (white on the bar), so the
    axis is not stretched to twice the data to make room for words."""
    fig, ax = plt.subplots(figsize=(9, 0.55 * len(table) + 1.4))
    names = [value("event", s) for s in table["step"]]
    ax.barh(names, table["units"], color=PALETTE[0])
    top = max(int(table["units"].max()), 1)
    ax.set_xlim(0, top * 1.02)
    ax.invert_yaxis()
    ax.grid(axis="y", visible=False)
    count_axis(ax, _cap(t("funnel.charts.bars_axis", unit=unit)), axis="x")
    ax.set_title(title or t("funnel.charts.bars_title", unit=unit))
    texts = []
    for y, (n, oc, sc) in enumerate(
        zip(table["units"], table["overall_conversion"], table["step_conversion"], strict=True)
    ):
        label = t("funnel.charts.bars_label", n=fmt(n), overall=fmt(oc, "pct"), step=fmt(sc, "pct"))
        texts.append((n, ax.text(n, y, " " + label, va="center", fontsize=9.5, visible=False)))
    fig.tight_layout()  # the layout without the labels: they go where the bars leave room
    renderer = fig.canvas.get_renderer()
    right = ax.get_window_extent(renderer).x1
    x0 = ax.transData.transform((0, 0))[0]
    over = 0.0  # pixels a label too long for its short bar runs past the axis
    for n, txt in texts:
        txt.set_visible(True)
        box = txt.get_window_extent(renderer)
        if box.x1 <= right:
            continue
        if ax.transData.transform((n, 0))[0] - x0 > box.width + 4:
            txt.set_text(txt.get_text().strip() + " ")
            txt.set_ha("right")
            txt.set_color("white")
        else:
            over = max(over, box.x1 - right)
    if over:  # a narrow chart: widen the axis by just what that label needs
        ax.set_xlim(0, top * 1.02 * (right - x0 + over) / (right - x0))
    return fig


def breakdown_heatmap(bt: pd.DataFrame, by: str, segment_names: dict) -> plt.Figure:
    """Step conversion by segment (rows) and step (columns) on one colour scale, and the overall
    conversion in its own column on its own scale (a 10% overall rate beside 70% step rates would
    otherwise read as a red alarm). ``bt``: :func:`analysis_lib.analyses.funnel.breakdown_table`
    (step columns as ``(from, to)`` pairs by name ``"a → b"``)."""
    steps = [c for c in bt.columns if c not in ("entered", "overall")]
    cols = {}
    for c in steps:
        a, b = c.split(" → ")
        cols[c] = t("funnel.pair", a=value("event", a), b=value("event", b))
    cols["overall"] = t("funnel.charts.heat_overall")
    shown = bt[[*steps, "overall"]].rename(columns=cols)
    shown.index = [segment_names.get(i, str(i)) for i in bt.index]
    fig = heatmap(
        shown,
        t("funnel.sections.breakdown", by=by),
        "pct",
        groups=[[cols[c] for c in steps], [cols["overall"]]],
    )
    return _within(fig)


def _within(fig: plt.Figure, pad: float = 0.08) -> plt.Figure:
    """``fig`` widened (and heightened) until everything drawn lies inside it. A heatmap of two
    or three steps and short segment names is narrow, and its first slanted step label (``page
    view → product view``) or its title reached past the left edge: the saved image then depends
    on a tight save to widen the canvas, and a page that shows the figure's own box cuts the label
    (``rt view → add to cart``). Measured on the drawn figure, in inches."""
    for _ in range(3):
        box = fig.get_tightbbox(fig.canvas.get_renderer())
        w, h = fig.get_size_inches()
        dx = max(0.0, -box.x0) + max(0.0, box.x1 - w)
        dy = max(0.0, -box.y0) + max(0.0, box.y1 - h)
        if dx <= 0 and dy <= 0:
            break
        fig.set_size_inches(w + (dx and dx + pad), h + (dy and dy + pad))
        fig.tight_layout()
    return fig


def trend_chart(
    series: pd.DataFrame,
    grain: str,
    start: _dt.date,
    last: _dt.date,
    *,
    label: str,
    title: str,
    previous: pd.DataFrame | None = None,
    compare: tuple | None = None,
) -> plt.Figure:
    """Overall conversion by day or week of entry (``series``: ``bucket``, ``conversion``), dates
    concise; a first or last bucket that starts before ``start`` or ends after ``last`` (the
    period's end or the data's last day) is drawn hollow and apart, not as a rise or a fall. The
    compare period's trend (``previous``, its ``compare`` start and end) is a faded line shifted
    onto this one, first bucket on first bucket (KPI monitor's convention), its complete buckets
    only."""
    if series.empty:
        return empty_chart(title)
    g = t(f"funnel.grain.{grain}")
    fig, ax = plt.subplots(figsize=(9, 3.4))
    x = pd.to_datetime(series["bucket"])
    ok = complete_buckets(x, grain, start, last)
    trend_line(ax, list(x), series["conversion"], ok, color=PALETTE[0], label=label)
    if previous is not None and len(previous) and compare is not None:
        px = pd.to_datetime(previous["bucket"])
        done = complete_buckets(px, grain, *compare)
        shift = x.iloc[0] - px.iloc[0]
        trend_line(
            ax, list(px[done] + shift), previous["conversion"][done], comparison=True,
            label=t("funnel.charts.trend_compare"),
        )  # fmt: skip
    value_axis(ax, "pct", t("funnel.charts.trend_axis"))
    date_axis(ax)
    ax.set_xlabel(_cap(t("funnel.charts.trend_x", grain=g)))
    ax.set_title(title)
    legend_outside(ax)
    fig.tight_layout()
    return fig


def duration_histogram(hist: pd.DataFrame, unit: str, a: str, b: str) -> plt.Figure:
    """Units per time-to-convert bin (``upper_s``: log-spaced upper bounds in seconds, up to the
    window), labelled in the unit each bound reaches (``≤ 2 min``); empty bins at either end are
    left out so the labels have room."""
    nz = np.flatnonzero(hist["units"].to_numpy() > 0)
    if not len(nz):
        return empty_chart(t("funnel.charts.hist_title", a=value("event", a), b=value("event", b)))
    h = hist.iloc[nz[0] : nz[-1] + 1]
    labels = [
        t("funnel.charts.hist_more") if np.isinf(u) else "≤ " + fmt(u, "duration")
        for u in h["upper_s"]
    ]
    fig, ax = plt.subplots(figsize=(9, 3.4))
    ax.bar(range(len(h)), h["units"], color=PALETTE[2])
    ax.set_xticks(range(len(h)), labels=labels)
    if len(h) > 8:
        for lbl in ax.get_xticklabels():
            lbl.set_rotation(35)
            lbl.set_ha("right")
            lbl.set_rotation_mode("anchor")
    ax.grid(axis="x", visible=False)
    ax.set_xlabel(t("funnel.charts.hist_x"))
    count_axis(ax, _cap(t("funnel.charts.hist_y", unit=unit)))
    ax.set_title(t("funnel.charts.hist_title", a=value("event", a), b=value("event", b)))
    fig.tight_layout()
    return fig
