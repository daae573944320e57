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


def funnel_bars(table: pd.DataFrame, unit: str, title: str = "") -> plt.Figure:
    """The funnel: one bar per step (``units``), labelled with the count, the overall and the
    step conversion; ``unit`` names what is counted (users, sessions)."""
    fig, ax = plt.subplots(figsize=(9, 0.55 * len(table) + 1.4))
    names = [value("event", s) for s in table["step"]]
    ax.barh(names, table["units"], color=PALETTE[0])
    for y, (n, oc, sc) in enumerate(
        zip(table["units"], table["overall_conversion"], table["step_conversion"], strict=True)
    ):
        label = t("funnel.charts.bars_label", n=fmt(n), overall=fmt(oc, "pct"), step=fmt(sc, "pct"))
        ax.text(n, y, " " + label, va="center", fontsize=9.5)
    top = max(int(table["units"].max()), 1)
    ax.set_xlim(0, top * 1.9)
    ax.invert_yaxis()
    ax.grid(axis="y", visible=False)
    value_axis(ax, "count", _cap(t("funnel.charts.bars_axis", unit=unit)), axis="x")
    ax.set_title(title or t("funnel.charts.bars_title", unit=unit))
    fig.tight_layout()
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
    return heatmap(
        shown,
        t("funnel.sections.breakdown", by=by),
        "pct",
        groups=[[cols[c] for c in steps], [cols["overall"]]],
    )


def trend_chart(
    per_unit: pd.DataFrame,
    every_entry: pd.DataFrame,
    grain: str,
    unit_one: str,
    start: _dt.date,
    last: _dt.date,
) -> plt.Figure:
    """Overall conversion by day or week of entry, each unit once and every entry, dates concise;
    a first or last bucket that starts before ``start`` or ends after ``last`` (the period's end
    or the data's last day) is drawn hollow and apart, not as a rise or a fall."""
    if per_unit.empty and every_entry.empty:
        return empty_chart(t("funnel.sections.trend"))
    g = t(f"funnel.grain.{grain}")
    fig, ax = plt.subplots(figsize=(9, 3.4))
    partial = t("charts.partial_period")
    same = len(per_unit) == len(every_entry) and np.allclose(
        per_unit["conversion"].to_numpy(float), every_entry["conversion"].to_numpy(float)
    )  # sessions rarely enter twice: one line, not one hidden behind the other
    for df, key, color in (
        (per_unit, "trend_per_unit", PALETTE[0]),
        (every_entry, "trend_every_entry", PALETTE[1]),
    ):
        if df.empty or (same and df is every_entry):
            continue
        x = pd.to_datetime(df["bucket"])
        ok = complete_buckets(x, grain, start, last)
        trend_line(
            ax, list(x), df["conversion"], ok, color=color,
            label=t(f"funnel.charts.{key}", unit=unit_one),
        )  # fmt: skip
    seen = set()
    for line in ax.get_lines():  # one legend entry for the partial marks of both lines
        if line.get_label() == partial and partial in seen:
            line.set_label("_nolegend_")
        seen.add(line.get_label())
    value_axis(ax, "pct", t("funnel.charts.trend_axis"))
    date_axis(ax)
    ax.set_xlabel(_cap(t("funnel.charts.trend_x", grain=g)))
    ax.set_title(t("funnel.charts.trend_title", grain=g))
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
    value_axis(ax, "count", _cap(t("funnel.charts.hist_y", unit=unit)))
    ax.set_title(t("funnel.charts.hist_title", a=value("event", a), b=value("event", b)))
    fig.tight_layout()
    return fig
