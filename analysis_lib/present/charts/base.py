"""The one chart theme, the house rules of REPORTS.md ("Charts") and the charts several reports
share. Chart functions take small aggregated frames and return a matplotlib Figure; they compute
nothing that a report would show as a number.

Three parts:

- **Theme** (:func:`setup`): seaborn's white grid (its rcParams, :data:`SEABORN_WHITEGRID`, set
  without importing seaborn: importing it imports scipy.stats and statsmodels, a second of every
  kernel's start), the palette, the CJK font, plain-text labels.
  Labels come from the data (categories, channels, brands, campaign names): they are drawn as plain
  text (``text.parse_math`` off), so a ``$`` in a name is a dollar sign, not the start of math text
  that fails the chart (``$$``) or swallows the name (``$x$``). Chinese labels need a CJK font: it
  comes from the ``mplfonts`` package (Noto Sans CJK SC ships in its wheel), registered with
  matplotlib here, so ``lang: zh`` charts render on a fresh machine with no system fonts.
- **House-rule helpers** for the per-report chart modules: :func:`date_axis` (concise dates),
  :func:`value_axis` and :func:`axis_title` (tick labels by kind, titles with the unit and the
  shop's currency), :func:`legend_outside`, :func:`complete_buckets` and :func:`trend_line`
  (partial first/last periods drawn faded, the comparison period as a faded line),
  :func:`rank_axis` (1 at the top), :func:`diverging` (a colour scale centred on a reference).
- **The check** (:func:`check`): draws a figure and measures it against the rules that can be
  measured. :func:`analysis_lib.present.blocks.figure` runs it on every chart when
  ``WORKBOOK_CHECK_CHARTS=1`` (the tests set it), so a report with an unreadable chart fails there.

What :func:`check` measures, and why these and not others:

1. *Tick labels that overlap* each other on one axis, and any two texts that overlap (a title on
   tick labels, value labels on each other). Rotated labels are compared as the rotated rectangles
   they are, not their bounding boxes, so 30°-rotated dates that do not touch pass.
2. *Text outside the figure*: a title, label, annotation or legend past the figure's edge is
   clipped or pushes the layout around.
3. *Text smaller than* :data:`MIN_FONT_PT` (9 pt) *as the reader sees it*: REPORTS.md asks 9 pt
   for heatmap annotations; we apply it to every text (ticks, legends, annotations), because a
   report page shrinks a figure wider than :data:`REPORT_WIDTH_PX` to fit, so 10 pt text in a
   2,000 px wide figure reads as 5 pt. The size checked is the font size times that shrink.
4. *A legend over the data*: the legend's box against the lines, bars, points and bands drawn in
   the axes it overlaps (shaded spans and reference lines drawn across the whole axes excepted).
5. *A value axis that does not say what it counts*: an axis whose tick labels are bare numbers
   (``1,200``, ``0.5``, ``3M``: no ``%``, currency or unit) needs an axis title or an axes title
   naming the measure and its unit. Date axes and category axes are exempt (their labels say what
   they are). Whether the title names the *right* unit cannot be measured: review does that.
6. *Tick labels that lie*: two ticks of one axis with the same label (``0.00``, ``0.00``: too few
   decimals) or a negative zero (``-0``, ``−0.0%``).
7. *Markers cut by the axes' edge* (bubbles clipped): a scatter marker whose centre is in the
   axes but whose disc crosses its edge.

A chart's words (title, labels, legends) are collected by :func:`chart_texts`. With
``WORKBOOK_CHART_LOG=<file>`` (the report rules test sets it beside ``WORKBOOK_CHECK_CHARTS=1``)
:func:`check` appends each chart's alt text, words and problems to that file as one JSON line and
returns no problem, so a run goes on past a bad chart and the test lists every chart of every
report, and holds chart words to the same wording rules as the page's.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal

import matplotlib
import matplotlib.colors as mcolors
import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np
import pandas as pd
from babel import numbers as B
from cycler import cycler
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection, PathCollection, QuadMesh
from matplotlib.image import AxesImage
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.text import Text
from matplotlib.transforms import Bbox

from analysis_lib.core import metrics as M
from analysis_lib.present.context import configure, settings
from analysis_lib.present.numbers import LOCALES, MINUS, fmt
from analysis_lib.present.words import MissingWord, t
from analysis_lib.present.words import label as word_label

CJK_FONT_FILE = "NotoSansCJKsc-Regular.otf"
PALETTE = ["#2563eb", "#f97316", "#16a34a", "#dc2626", "#7c3aed", "#0891b2", "#ca8a04", "#64748b"]
FADED = "#94a3b8"  # the comparison period and partial buckets
MIN_FONT_PT = 9.0  # REPORTS.md: heatmap annotations at least 9 pt; we hold every text to it
REPORT_WIDTH_PX = 1000  # the report column (template: body max-width 1100 px less its padding)
MAX_FIG_WIDTH_IN = 10.4  # at 96 dpi: the widest figure shown without shrinking its text
CHART_LOG_ENV = "WORKBOOK_CHART_LOG"
TOL_PX = 1.0  # measurement slack: anti-aliasing and rounding, not a design allowance

ValueKind = Literal["count", "money", "pct", "signed_pct", "pp", "ratio", "duration"]
Grain = Literal["day", "week", "month"]


# --- theme ---------------------------------------------------------------------------------------

# What ``seaborn.set_theme(style="whitegrid", font_scale=0.95)`` sets (seaborn 0.13: its
# ``axes_style("whitegrid")`` and ``plotting_context("notebook", font_scale=0.95)``), but seaborn's
# default colour map: no chart draws with a default one (tests/test_import_path.py holds this
# list to seaborn's own).
SEABORN_WHITEGRID: dict[str, object] = {
    "axes.axisbelow": True,
    "axes.edgecolor": ".8",
    "axes.facecolor": "white",
    "axes.grid": True,
    "axes.labelcolor": ".15",
    "axes.spines.bottom": True,
    "axes.spines.left": True,
    "axes.spines.right": True,
    "axes.spines.top": True,
    "figure.facecolor": "white",
    "font.family": ["sans-serif"],
    "font.sans-serif": [
        "Arial",
        "DejaVu Sans",
        "Liberation Sans",
        "Bitstream Vera Sans",
        "sans-serif",
    ],
    "grid.color": ".8",
    "grid.linestyle": "-",
    "lines.solid_capstyle": "round",
    "patch.edgecolor": "w",
    "patch.force_edgecolor": True,
    "text.color": ".15",
    "xtick.bottom": False,
    "xtick.color": ".15",
    "xtick.direction": "out",
    "xtick.top": False,
    "ytick.color": ".15",
    "ytick.direction": "out",
    "ytick.left": False,
    "ytick.right": False,
    "axes.labelsize": 12 * 0.95,
    "axes.linewidth": 1.25,
    "axes.titlesize": 12 * 0.95,
    "font.size": 12 * 0.95,
    "grid.linewidth": 1,
    "legend.fontsize": 11 * 0.95,
    "legend.title_fontsize": 12 * 0.95,
    "lines.linewidth": 1.5,
    "lines.markersize": 6,
    "patch.linewidth": 1,
    "xtick.labelsize": 11 * 0.95,
    "xtick.major.size": 6,
    "xtick.major.width": 1.25,
    "xtick.minor.size": 4,
    "xtick.minor.width": 1,
    "ytick.labelsize": 11 * 0.95,
    "ytick.major.size": 6,
    "ytick.major.width": 1.25,
    "ytick.minor.size": 4,
    "ytick.minor.width": 1,
}


def seaborn_theme() -> dict[str, object]:
    """The rcParams of ``seaborn.set_theme(style="whitegrid", palette=PALETTE, font_scale=0.95)``
    (but its default colour map), without importing seaborn."""
    return SEABORN_WHITEGRID | {
        "axes.prop_cycle": cycler(color=[mcolors.to_rgb(c) for c in PALETTE])
    }


def cjk_font_path() -> Path:
    """Path of the bundled CJK font file (from the mplfonts package)."""
    return Path(str(resources.files("mplfonts") / "fonts" / CJK_FONT_FILE))


def setup(lang: str | None = None) -> str:
    """Apply the workbook theme and register the CJK font; returns the font family in use. Every
    notebook calls it (through the bootstrap) before its first chart. ``lang``, when given, also
    sets the report's language for chart words and numbers (notebooks not yet on the bootstrap
    call ``setup(P.lang)`` alone)."""
    if lang is not None:
        configure(lang=lang)
    path = cjk_font_path()
    font_manager.fontManager.addfont(str(path))
    family = font_manager.FontProperties(fname=str(path)).get_name()
    plt.rcParams.update(seaborn_theme())
    plt.rcParams.update(
        {
            "font.family": "sans-serif",
            "font.sans-serif": [family, "DejaVu Sans"],
            "axes.unicode_minus": False,
            "figure.dpi": 96,
            "savefig.dpi": 96,
            "figure.figsize": (9, 4),
            "axes.titleweight": "bold",
            "axes.spines.top": False,
            "axes.spines.right": False,
            "text.parse_math": False,  # labels from data are text: "$$" or "$x$" drawn as is
            "text.usetex": False,
            "legend.frameon": False,
        }
    )
    return family


# --- numbers on axes -----------------------------------------------------------------------------


def currency_symbol() -> str:
    """The shop's currency symbol in the report's language (``¥``, ``CN¥``, ``$``); empty when
    the params name no currency."""
    s = settings()
    return B.get_currency_symbol(s.currency, LOCALES[s.lang]) if s.currency else ""


def unit_of(kind: str) -> str:
    """The unit an axis of ``kind`` is in, for its title: the currency for money, ``%``, ``pp``."""
    if kind in ("money", "money_compact", "signed_money"):
        return currency_symbol()
    if kind in ("pct", "signed_pct"):
        return "%"
    if kind == "pp":
        return t("charts.unit_pp")
    return ""


def axis_title(text: str, kind: str | None = None, unit: str | None = None) -> str:
    """An axis or small-multiple title with its unit: ``GMV (¥)`` / ``GMV（¥）``. ``unit``
    overrides the unit of ``kind`` (e.g. ``orders``)."""
    u = unit if unit is not None else unit_of(kind or "")
    if not u:
        return text
    return f"{text}（{u}）" if settings().lang == "zh" else f"{text} ({u})"


_COMPACT = {  # (from, divide by, suffix): thousands as K only from 10,000 (1,500 stays 1,500)
    "en": ((1e9, 1e9, "B"), (1e6, 1e6, "M"), (1e4, 1e3, "K")),
    "zh": ((1e8, 1e8, "亿"), (1e4, 1e4, "万")),
}


class TickFormatter(matplotlib.ticker.Formatter):
    """Tick labels of a value axis by kind, in the report's language: percentages as ``12%``,
    money and counts compact (``1.2M``, ``120万``) without the currency symbol (the axis title
    carries it), with as many decimals as the tick step needs and no more, so two ticks never
    share a label and none prints ``-0``."""

    def __init__(self, kind: str = "count"):
        self.kind = kind
        self._memo: dict[tuple, list[str]] = {}

    def format_ticks(self, values):
        # drawing a figure asks for the same ticks many times (layout, tight crop, draw): each
        # set of ticks is formatted once per language and currency
        self.set_locs(values)
        key = (tuple(values), settings())
        if key not in self._memo:
            self._memo[key] = [self(v, i) for i, v in enumerate(values)]
        return list(self._memo[key])

    def _step(self) -> float:
        locs = sorted(float(v) for v in getattr(self, "locs", []) if np.isfinite(v))
        steps = [b - a for a, b in zip(locs, locs[1:], strict=False) if b > a]
        return min(steps) if steps else 0.0

    @staticmethod
    def _decimals(step: float) -> int:
        if step <= 0:
            return 0
        return int(min(6, max(0, -math.floor(math.log10(step) + 1e-9))))

    def __call__(self, x, pos=None) -> str:
        if x is None or not np.isfinite(x):
            return ""
        lang = settings().lang
        k = self.kind
        if k == "duration":
            return fmt(x, "duration")
        if k in ("pct", "signed_pct", "pp"):
            d = self._decimals(self._step() * 100)
            text = _plain(x * 100, d, signed=k != "pct")
            return text + ("%" if k != "pp" else (" 个百分点" if lang == "zh" else " pp"))
        step = self._step()
        top = max((abs(float(v)) for v in getattr(self, "locs", [x])), default=abs(x))
        size, suffix = next(((d, u) for s, d, u in _COMPACT[lang] if top >= s), (1.0, ""))
        d = self._decimals(step / size) if k in ("money", "count") or size > 1 else None
        if d is None:  # ratios below 10,000: the step's decimals, at least two below 10
            d = max(self._decimals(step), 2 if top < 10 and step < 1 else 0)
        text = _plain(x / size, d)
        return text if text == "0" else text + suffix


def _plain(v: float, decimals: int, signed: bool = False) -> str:
    """``1,234.5`` with a real minus sign; never ``-0``; ``+`` when ``signed``."""
    if round(abs(v), decimals) == 0:
        return "0"
    text = f"{abs(v):,.{decimals}f}"
    return (MINUS if v < 0 else "+" if signed else "") + text


def _tick(value: float, kind: str) -> str:
    """One tick label by kind (for charts that format ticks one at a time; prefer
    :func:`value_axis`, which sees all ticks and picks the decimals)."""
    return fmt(value, "count") if kind == "money" and abs(value) >= 10 else fmt(value, kind)


def value_axis(
    ax: Axes, kind: str, title: str | None = None, axis: Literal["x", "y"] = "y"
) -> None:
    """A value axis: tick labels by ``kind`` (:class:`TickFormatter`) and, when ``title`` is
    given, the axis title with its unit (:func:`axis_title`)."""
    a = ax.yaxis if axis == "y" else ax.xaxis
    a.set_major_formatter(TickFormatter(kind))
    if title is not None:
        a.set_label_text(axis_title(title, kind))


_DATE_FORMATS: dict[str, dict] = {  # levels: years, months, days, hours, minutes, seconds
    "en": {},  # matplotlib's own: Dec, 08, 15 with the year once
    "zh": {
        "formats": ["%Y年", "%-m月", "%-d日", "%H:%M", "%H:%M", "%S.%f"],
        "zero_formats": ["", "%Y年", "%-m月", "%-m月%-d日", "%H:%M", "%H:%M"],
        "offset_formats": [
            "",
            "%Y年",
            "%Y年%-m月",
            "%Y年%-m月%-d日",
            "%Y年%-m月%-d日",
            "%Y年%-m月%-d日 %H:%M",
        ],
    },
}


class _DateTicks(mdates.AutoDateLocator):
    """matplotlib's date locator, the ticks of each view computed once (a figure's layout, tight
    crop and draw ask for them again and again; they depend on the view only)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._memo: dict[tuple, list[float]] = {}

    def __call__(self):
        if self.axis is None:
            return super().__call__()
        key = tuple(self.axis.get_view_interval())
        if key not in self._memo:
            self._memo[key] = list(super().__call__())
        return list(self._memo[key])


class ConciseDates(mdates.ConciseDateFormatter):
    """matplotlib's concise date labels, computed once per set of ticks (with their offset)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._memo: dict[tuple, tuple[list[str], str]] = {}
        self._offset = ""

    def format_ticks(self, values):
        key = (
            tuple(values),
            tuple(self.formats),
            tuple(self.zero_formats),
            tuple(self.offset_formats),
            self.show_offset,
        )
        if key not in self._memo:
            self._memo[key] = (super().format_ticks(values), super().get_offset())
        labels, self._offset = self._memo[key]
        return list(labels)

    def get_offset(self):
        return self._offset


def date_axis(ax: Axes, axis: Literal["x", "y"] = "x", maxticks: int | None = None) -> None:
    """Dates with matplotlib's concise formatter: ``Dec``, ``08``, ``15`` (``12月``, ``8日``)
    with the year once, not ``2025-12-08`` on every tick; at most one tick per ~90 px of axis so
    labels never touch."""
    a = ax.xaxis if axis == "x" else ax.yaxis
    if maxticks is None:
        fig = ax.get_figure()
        width_in = ax.get_position().width * fig.get_figwidth() if fig else 8.0
        maxticks = max(4, int(width_in * 96 / 90))
    locator = _DateTicks(minticks=3, maxticks=maxticks)
    locator.intervald[mdates.MONTHLY] = [1, 2, 3, 4, 6, 12]  # two years on a small axis: yearly
    a.set_major_locator(locator)
    a.set_major_formatter(ConciseDates(locator, show_offset=True, **_DATE_FORMATS[settings().lang]))
    a.set_label_text("")
    for lbl in a.get_ticklabels():
        lbl.set_rotation(0)


def legend_outside(ax: Axes, title: str | None = None, **kw) -> matplotlib.legend.Legend | None:
    """Put the axes' legend to the right of the data (never over it), without a frame; works for
    legends seaborn made. Returns the legend (``None`` when there is nothing to show)."""
    handles, labels = ax.get_legend_handles_labels()
    old = ax.get_legend()
    if old is not None and not handles:
        handles, labels = old.legend_handles, [x.get_text() for x in old.get_texts()]
    if old is not None:
        old.remove()
    if not handles:
        return None
    return ax.legend(
        handles,
        labels,
        title=title,
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        borderaxespad=0.0,
        frameon=False,
        **kw,
    )


def rank_axis(ax: Axes, axis: Literal["x", "y"] = "y", best: int = 1) -> None:
    """A rank axis: 1 at the top (climbing to #1 reads as rising), whole ranks only, ``#1`` in
    English and ``第 1 名`` in Chinese (the catalog's ``charts.rank_tick``)."""
    a = ax.yaxis if axis == "y" else ax.xaxis
    lo, hi = ax.get_ylim() if axis == "y" else ax.get_xlim()
    lo, hi = sorted((lo, hi))
    lim = (hi + 0.5, min(best, lo) - 0.5) if axis == "y" else (min(best, lo) - 0.5, hi + 0.5)
    (ax.set_ylim if axis == "y" else ax.set_xlim)(*lim)
    a.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True, nbins=6, min_n_ticks=1))
    a.set_major_formatter(
        matplotlib.ticker.FuncFormatter(
            lambda v, _p: t("charts.rank_tick", n=f"{v:.0f}") if v >= 1 else ""
        )
    )


def diverging(
    values: Iterable[float], center: float = 0.0, higher_is_better: bool | None = True
) -> dict:
    """A colour scale centred on a reference (0, a target, last year): ``cmap`` and ``norm`` for
    ``imshow``/``scatter``/``pcolormesh``, symmetric so equal distances above and below the
    reference get equally strong colours. Green is good (above the reference when higher is
    better); ``higher_is_better=None`` uses red-blue, saying only the sign."""
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], dtype=float)
    span = float(np.max(np.abs(v - center))) if v.size else 1.0
    span = span or 1.0
    cmap = {True: "RdYlGn", False: "RdYlGn_r", None: "RdBu_r"}[higher_is_better]
    norm = mcolors.TwoSlopeNorm(vcenter=center, vmin=center - span, vmax=center + span)
    return {"cmap": plt.get_cmap(cmap), "norm": norm}


# --- periods -------------------------------------------------------------------------------------


def bucket_end(bucket: pd.Timestamp, grain: Grain) -> pd.Timestamp:
    """The last day of the bucket that starts on ``bucket`` (weeks start on Monday)."""
    if grain == "day":
        return bucket
    if grain == "week":
        return bucket + pd.Timedelta(days=6)
    return bucket + pd.offsets.MonthEnd(0)


def complete_buckets(
    buckets: Sequence, grain: Grain, start: _dt.date, last_day: _dt.date | None
) -> np.ndarray:
    """Whether each bucket (its first day) lies wholly within ``[start, last_day]``: a week of
    which the period or the data holds three days is partial, and a chart marks it
    (:func:`trend_line`) instead of drawing it as a crash."""
    out = []
    lo = pd.Timestamp(start)
    hi = pd.Timestamp(last_day) if last_day is not None else None
    for b in pd.to_datetime(pd.Series(list(buckets))):
        end = bucket_end(b, grain)
        out.append(bool(b >= lo and (hi is None or end <= hi)))
    return np.asarray(out, dtype=bool)


def trend_line(
    ax: Axes,
    x: Sequence,
    y: Sequence,
    complete: Sequence[bool] | None = None,
    *,
    color: str = PALETTE[0],
    label: str | None = None,
    comparison: bool = False,
    marker: str = "o",
) -> None:
    """A line over time. Complete buckets are drawn solid; partial ones (``complete`` false)
    as hollow markers joined by a faded dashed line, so a three-day week reads as partial, not
    as a crash. ``comparison=True`` draws the whole line faded (the comparison period)."""
    xs = list(x)
    ys = np.asarray(list(y), dtype=float)
    ok = np.ones(len(xs), dtype=bool) if complete is None else np.asarray(complete, dtype=bool)
    if comparison:
        ax.plot(xs, ys, color=FADED, linewidth=1.4, label=label, zorder=1)
        return
    solid = np.where(ok, ys, np.nan)
    ax.plot(xs, solid, color=color, marker=marker, markersize=3.5, linewidth=1.8, label=label)
    if not ok.all():
        # the faded line runs through each partial point and its neighbours
        near = ~ok | np.r_[~ok[1:], False] | np.r_[False, ~ok[:-1]]
        ax.plot(
            xs, np.where(near, ys, np.nan), color=color, alpha=0.45, linestyle="--", linewidth=1.2
        )
        ax.plot(
            [xi for xi, o in zip(xs, ok, strict=True) if not o],
            ys[~ok],
            linestyle="none",
            marker=marker,
            markersize=5,
            markerfacecolor="white",
            markeredgecolor=color,
            label=t("charts.partial_period"),
        )


def fit_width(width_in: float) -> float:
    """A figure width that the report shows at full size (text not shrunk below its points)."""
    return min(width_in, MAX_FIG_WIDTH_IN)


# --- shared charts -------------------------------------------------------------------------------


def empty_chart(title: str = "", note: str | None = None) -> plt.Figure:
    """A small figure that says the chart has nothing to show, instead of failing the report."""
    fig, ax = plt.subplots(figsize=(6, 1.2))
    ax.axis("off")
    ax.set_title(title)
    ax.text(
        0.5,
        0.4,
        note if note is not None else t("charts.no_data"),
        ha="center",
        va="center",
        color="#64748b",
        transform=ax.transAxes,
    )
    fig.tight_layout()
    return fig


def _as_dates(values: pd.Series) -> pd.Series:
    """Period labels that are dates (``2024-02``, ``2025-12-01``) as timestamps, so they get a
    concise date axis instead of one crowded category label each; anything else as given."""
    if pd.api.types.is_datetime64_any_dtype(values) or not (
        pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values)
    ):
        return values
    text = values.astype(str)
    if not text.str.fullmatch(r"\d{4}-\d{2}(-\d{2})?").all():
        return values
    return pd.to_datetime(text)


def _metric_kind(key: str) -> str:
    return M.METRICS[key].kind if key in M.METRICS else "ratio"


def _label_or(key: str, labels: dict[str, str] | None) -> str:
    if labels and key in labels:
        return labels[key]
    try:
        return word_label(key)
    except MissingWord:
        return str(key)


def kpi_trend(
    series: pd.DataFrame,
    keys: list[str],
    lang: str | None = None,
    ncols: int = 3,
    *,
    x: str = "bucket",
    comparison: pd.DataFrame | None = None,
    labels: dict[str, str] | None = None,
    ranks: Iterable[str] | None = None,
) -> plt.Figure:
    """Small multiples: one line per KPI over the buckets of ``series``, each titled with the
    measure and its unit, dates concise. Rows with ``complete`` false (a partial first or last
    week or month) are marked as partial. ``comparison`` (the same columns, aligned by position)
    is drawn as a faded line. Keys in ``ranks`` (default: names ending in ``rank``) get a rank
    axis with 1 at the top. ``lang`` is ignored: the report's context decides (kept for callers
    not yet moved)."""
    del lang
    ranks = set(ranks) if ranks is not None else {k for k in keys if k.endswith("rank")}
    ncols = max(1, min(ncols, len(keys)))
    nrows = -(-len(keys) // ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(fit_width(3.4 * ncols), 2.7 * nrows), squeeze=False
    )
    xs = _as_dates(series[x]).reset_index(drop=True)
    is_date = pd.api.types.is_datetime64_any_dtype(xs)
    complete = series["complete"].to_numpy(bool) if "complete" in series else None
    for ax, key in zip(axes.flat, keys, strict=False):
        kind = _metric_kind(key)
        if comparison is not None and key in comparison:
            n = min(len(comparison), len(series))
            trend_line(ax, list(xs[:n]), comparison[key][:n], comparison=True)
        trend_line(ax, xs, series[key], complete)
        ax.set_title(axis_title(_label_or(key, labels), kind if key not in ranks else None))
        ax.set_xlabel("")
        ax.set_ylabel("")
        if key in ranks:
            rank_axis(ax)
        else:
            value_axis(ax, kind)
        if is_date:
            date_axis(ax)
    for ax in list(axes.flat)[len(keys) :]:
        ax.set_visible(False)
    fig.tight_layout()
    return fig


def heatmap(
    table: pd.DataFrame,
    title: str = "",
    kind: str = "pct",
    *,
    groups: Sequence[Sequence] | None = None,
    center: float | None = None,
    higher_is_better: bool | None = True,
    xlabel: str = "",
    ylabel: str = "",
) -> plt.Figure:
    """A heatmap of a small table (rows: segments, columns: steps or months), each cell
    annotated with its value at :data:`MIN_FONT_PT` or more. One colour scale per measure: the
    columns of each of ``groups`` (default: all columns) share a scale, so step rates and overall
    rates in one table are not coloured against each other. With ``center`` the scale diverges
    around that reference (:func:`diverging`); else it runs light to dark. Cells without a value
    are grey. A note in place of the chart when there is nothing to show (e.g. cohorts of a
    one-month period). Name numeric column headers (months since first order) in ``xlabel``."""
    if table.empty or table.astype(float).isna().all().all():
        return empty_chart(title)
    values = table.astype(float)
    cols = list(table.columns)
    groups = [list(g) for g in groups] if groups else [cols]
    nrow, ncol = values.shape
    annot = [[fmt(v, kind) for v in row] for row in values.to_numpy()]
    longest = max((len(a) for row in annot for a in row), default=4)
    col_names = [str(c) for c in cols]
    row_names = [str(r) for r in table.index]
    cell_w = max(0.62, 0.105 * longest + 0.2)
    label_w = min(2.6, 0.11 * max((len(r) for r in row_names), default=4) + 0.5)
    width = fit_width(cell_w * ncol + label_w + 0.4)
    fig, ax = plt.subplots(figsize=(width, 0.42 * nrow + 1.5))
    rgba = np.tile(mcolors.to_rgba("#e2e8f0"), (nrow, ncol, 1))
    for g in groups:
        idx = [cols.index(c) for c in g]
        block = values.iloc[:, idx].to_numpy()
        finite = block[np.isfinite(block)]
        if not finite.size:
            continue
        if center is not None:
            sc = diverging(finite, center, higher_is_better)
            cmap, norm = sc["cmap"], sc["norm"]
        else:
            cmap = plt.get_cmap("Blues" if higher_is_better is not False else "Reds")
            lo, hi = float(finite.min()), float(finite.max())
            norm = mcolors.Normalize(vmin=lo - 0.15 * (hi - lo or 1), vmax=hi)
        colored = cmap(norm(np.nan_to_num(block, nan=center or 0.0)))
        rgba[:, idx, :] = np.where(np.isfinite(block)[..., None], colored, rgba[:, idx, :])
    ax.imshow(rgba, aspect="auto", interpolation="nearest")
    size = max(MIN_FONT_PT, 9.5)
    for i in range(nrow):
        for j in range(ncol):
            if not np.isfinite(values.iat[i, j]):
                continue
            r, g_, b, _a = rgba[i, j]
            dark = 0.299 * r + 0.587 * g_ + 0.114 * b < 0.55
            ax.text(
                j,
                i,
                annot[i][j],
                ha="center",
                va="center",
                fontsize=size,
                color="white" if dark else "#0f172a",
            )
    for g in groups[:-1]:  # a white gap between measures
        ax.axvline(max(cols.index(c) for c in g) + 0.5, color="white", linewidth=4)
    ax.set_xticks(range(ncol), labels=col_names)
    ax.set_yticks(range(nrow), labels=row_names)
    ax.grid(False)
    for s in ax.spines.values():
        s.set_visible(False)
    ax.tick_params(length=0)
    if max((len(c) for c in col_names), default=0) * 0.085 > cell_w:
        for lbl in ax.get_xticklabels():
            lbl.set_rotation(30)
            lbl.set_ha("right")
            lbl.set_rotation_mode("anchor")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    fig.tight_layout()
    return fig


def rate_trend(
    df: pd.DataFrame,
    x: str,
    y: str,
    title: str = "",
    kind: str = "pct",
    *,
    ylabel: str | None = None,
    complete: Sequence[bool] | None = None,
    comparison: pd.DataFrame | None = None,
) -> plt.Figure:
    """A line of a rate over time, dates concise; partial buckets (``complete`` false, or the
    frame's ``complete`` column) marked; ``comparison`` (same columns) faded behind it."""
    fig, ax = plt.subplots(figsize=(9, 3.2))
    if complete is None and "complete" in df:
        complete = df["complete"].to_numpy(bool)
    if comparison is not None:
        n = min(len(comparison), len(df))
        trend_line(ax, list(_as_dates(df[x])[:n]), comparison[y][:n], comparison=True)
    xs = _as_dates(df[x]).reset_index(drop=True)
    trend_line(ax, xs, df[y], complete)
    value_axis(ax, kind, ylabel)
    if pd.api.types.is_datetime64_any_dtype(xs):
        date_axis(ax)
    ax.set_xlabel("")
    if ylabel is None:
        ax.set_ylabel("")
    ax.set_title(title)
    if any(not h.get_label().startswith("_") for h in ax.get_lines()):
        legend_outside(ax)
    fig.tight_layout()
    return fig


def _duration(seconds: float) -> str:
    """A bin's upper bound as ``≤1.5h`` (kept for the funnel's duration histogram)."""
    if seconds == float("inf"):
        return "more"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"≤{seconds / size:.3g}{unit}"
    return f"≤{seconds:.3g}s"


def grouped_bars(
    df: pd.DataFrame,
    x: str,
    ys: list[str],
    title: str = "",
    *,
    labels: dict[str, str] | None = None,
    kind: str = "count",
    ylabel: str | None = None,
) -> plt.Figure:
    """Side-by-side bars of several columns per ``x`` value, the legend outside the bars. Series
    are named by ``labels`` or the catalog's label of each column (a column id never shows)."""
    import seaborn as sns  # here: importing seaborn imports scipy.stats (see SEABORN_WHITEGRID)

    fig, ax = plt.subplots(figsize=(9, 3.6))
    names = {y: _label_or(y, labels) for y in ys}
    long = df.melt(id_vars=[x], value_vars=ys, var_name="series", value_name="value")
    long["series"] = long["series"].map(names)
    sns.barplot(data=long, x=x, y="value", hue="series", ax=ax, palette=PALETTE[: len(ys)])
    ax.set_xlabel("")
    value_axis(ax, kind, ylabel)
    if ylabel is None:
        ax.set_ylabel("")
    ax.set_title(title)
    for lbl in ax.get_xticklabels():
        lbl.set_rotation(20)
        lbl.set_ha("right")
        lbl.set_rotation_mode("anchor")
    legend_outside(ax)
    fig.tight_layout()
    return fig


# --- the check -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Txt:
    role: str  # "title", "x tick label", "legend", "annotation"...
    text: Text
    ax: Axes | None
    group: object  # texts of one group are laid out together (one legend, one axis' ticks)


def _shown(t_: Text | None) -> bool:
    return t_ is not None and t_.get_visible() and bool(t_.get_text().strip())


def _drawn_ticks(axis) -> list:
    """The ticks matplotlib draws (those in the view), with a visible label."""
    try:
        ticks = axis._update_ticks()  # the ticks in view, as Axis.draw uses them
    except Exception:  # pragma: no cover - a private API; fall back to every major tick
        ticks = axis.get_major_ticks()
    return ticks


def _texts(fig: plt.Figure) -> list[_Txt]:
    """Every text a reader sees, with its role, in drawing order."""
    out: list[_Txt] = []

    def add(role: str, t_: Text | None, ax: Axes | None = None, group: object = None) -> None:
        if _shown(t_) and all(x.text is not t_ for x in out):  # a suptitle is in fig.texts too
            out.append(_Txt(role, t_, ax, group if group is not None else id(t_)))

    for attr in ("_suptitle", "_supxlabel", "_supylabel"):
        add("title", getattr(fig, attr, None))
    for t_ in fig.texts:
        add("text", t_)
    for lg in fig.legends:
        if lg.get_visible():
            for t_ in [*lg.get_texts(), lg.get_title()]:
                add("legend", t_, None, id(lg))
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        for t_ in (ax.title, ax._left_title, ax._right_title):
            add("title", t_, ax)
        if ax.axison:
            for name, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
                if not axis.get_visible():
                    continue
                add(f"{name} axis title", axis.label, ax)
                add(f"{name} axis offset", axis.offsetText, ax)
                for tick in _drawn_ticks(axis):
                    for lbl in (tick.label1, tick.label2):
                        add(f"{name} tick label", lbl, ax, (id(ax), name, "ticks"))
        for t_ in ax.texts:
            add("annotation", t_, ax)
        lg = ax.get_legend()
        if lg is not None and lg.get_visible():
            for t_ in [*lg.get_texts(), lg.get_title()]:
                add("legend", t_, ax, id(lg))
    return out


def chart_texts(fig: plt.Figure) -> list[str]:
    """The words a reader sees in a chart (titles, axis titles, tick labels, legends,
    annotations), in drawing order, for the wording rules of the report test."""
    _render(fig)
    return [x.text.get_text() for x in _texts(fig)]


def _render(fig: plt.Figure):
    """Draw ``fig`` (on an Agg canvas) and return the renderer its texts were laid out with."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = fig.canvas
    if not hasattr(canvas, "get_renderer"):
        canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def _corners(t_: Text, renderer) -> np.ndarray:
    """The four corners of a text's box as drawn (rotated texts: the rotated rectangle)."""
    bb = t_.get_window_extent(renderer)
    rot = t_.get_rotation() % 360
    if min(rot % 90, 90 - rot % 90) < 0.5:
        return np.array([[bb.x0, bb.y0], [bb.x1, bb.y0], [bb.x1, bb.y1], [bb.x0, bb.y1]])
    t_.set_rotation(0)
    flat = t_.get_window_extent(renderer)
    t_.set_rotation(rot)
    w, h = flat.width, flat.height
    th = math.radians(rot)
    c, s = math.cos(th), math.sin(th)
    pts = np.array([[x * c - y * s, x * s + y * c] for x, y in ((0, 0), (w, 0), (w, h), (0, h))])
    pts -= pts.min(axis=0)
    return pts + [bb.x0, bb.y0]


def _overlap(a: np.ndarray, b: np.ndarray, tol: float = TOL_PX) -> bool:
    """Whether two convex quadrilaterals overlap by more than ``tol`` pixels (separating axes)."""
    for poly in (a, b):
        for i in range(4):
            edge = poly[(i + 1) % 4] - poly[i]
            n = np.array([-edge[1], edge[0]])
            norm = np.hypot(*n)
            if norm == 0:
                continue
            n = n / norm
            pa, pb = a @ n, b @ n
            if min(pa.max(), pb.max()) - max(pa.min(), pb.min()) <= tol:
                return False
    return True


def _quote(t_: Text) -> str:
    s = " ".join(t_.get_text().split())
    return repr(s if len(s) <= 40 else s[:37] + "...")


def _many(items: list[str], noun: str = "texts", show: int = 3) -> str:
    """``'a', 'b', 'c' and 9 more texts``: a problem names a few examples, not hundreds."""
    head = ", ".join(items[:show])
    return head if len(items) <= show else f"{head} and {len(items) - show} more {noun}"


def _where(ax: Axes | None) -> str:
    if ax is None:
        return "figure"
    title = ax.get_title() or ax.get_title("left")
    return f"chart {title!r}" if title else "chart"


def _shrink(fig: plt.Figure) -> float:
    """How much the report page shrinks this figure (1.0: shown at full size)."""
    dpi = plt.rcParams.get("savefig.dpi")
    dpi = fig.dpi if dpi in (None, "figure") else float(dpi)
    return min(1.0, REPORT_WIDTH_PX / (fig.get_figwidth() * dpi))


_BARE = re.compile(r"^[+\-−]?[\d.,\s]*\d[\d.,\s]*[KMBk万亿]?$")
_NEG_ZERO = re.compile(r"^[\-−]0([.,]0+)?\s*(%|pp|个百分点)?$")


def _is_date_axis(axis) -> bool:
    fmt_ = axis.get_major_formatter()
    return isinstance(
        fmt_, mdates.ConciseDateFormatter | mdates.AutoDateFormatter | mdates.DateFormatter
    )


def _data_artists(ax: Axes) -> list:
    """What the axes plots: lines, bars, points, bands, images; not spans or reference lines
    drawn across the whole axes (their transform is the axes' x or y axis transform)."""
    spans = {id(ax.get_xaxis_transform()), id(ax.get_yaxis_transform())}
    arts = [*ax.lines, *ax.patches, *ax.collections, *ax.images]
    return [
        a
        for a in arts
        if a.get_visible()
        and (a.get_alpha() is None or a.get_alpha() > 0.05)
        and id(a.get_transform()) not in spans
    ]


def _hits(art, box: Bbox, renderer) -> bool:
    """Whether ``art`` draws anything inside ``box`` (display pixels)."""
    if isinstance(art, Line2D):
        path = art.get_transform().transform_path(art.get_path())
        verts = path.vertices
        if art.get_linestyle() in ("None", "none", "", " "):
            ok = np.isfinite(verts).all(axis=1)
            return bool(box.count_contains(verts[ok]))
        return bool(path.cleaned(remove_nans=True).intersects_bbox(box, filled=False))
    if isinstance(art, Patch):
        path = art.get_transform().transform_path(art.get_path())
        return bool(path.intersects_bbox(box, filled=art.get_fill()))
    if isinstance(art, PathCollection) and len(art.get_offsets()):
        pts = art.get_offset_transform().transform(art.get_offsets())
        sizes = art.get_sizes()
        r = np.sqrt(sizes if len(sizes) else [36.0]) / 2 * renderer.points_to_pixels(1.0)
        r = np.broadcast_to(r, (len(pts),))
        return any(
            x + ri > box.x0 and x - ri < box.x1 and y + ri > box.y0 and y - ri < box.y1
            for (x, y), ri in zip(pts, r, strict=True)
            if np.isfinite(x) and np.isfinite(y)
        )
    if isinstance(art, QuadMesh | AxesImage):
        return art.get_window_extent(renderer).overlaps(box)
    paths = art.get_paths() if hasattr(art, "get_paths") else []
    trans = art.get_transform()
    filled = not isinstance(art, LineCollection)
    return any(trans.transform_path(p).intersects_bbox(box, filled=filled) for p in paths)


def _clipped_markers(ax: Axes, renderer) -> int:
    """Scatter markers whose centre is in the axes but whose disc crosses its edge."""
    n = 0
    box = ax.bbox
    for art in ax.collections:
        if not (isinstance(art, PathCollection) and art.get_visible() and art.get_clip_on()):
            continue
        if not len(art.get_offsets()):
            continue
        pts = art.get_offset_transform().transform(art.get_offsets())
        sizes = art.get_sizes()
        r = np.sqrt(sizes if len(sizes) else [36.0]) / 2 * renderer.points_to_pixels(1.0)
        r = np.broadcast_to(r, (len(pts),))
        for (x, y), ri in zip(pts, r, strict=True):
            inside = box.x0 <= x <= box.x1 and box.y0 <= y <= box.y1
            crosses = (
                x - ri < box.x0 - TOL_PX
                or x + ri > box.x1 + TOL_PX
                or y - ri < box.y0 - TOL_PX
                or y + ri > box.y1 + TOL_PX
            )
            n += bool(inside and crosses and ri > 2)
    return n


def check(fig: plt.Figure, alt: str | None = None) -> list[str]:
    """The house rules this figure breaks, one line each (empty when it passes). See the module
    docstring for what is measured and why; every size is measured on the drawn figure. ``alt``
    (the chart's alt text) only names the chart in the ``WORKBOOK_CHART_LOG`` record."""
    renderer = _render(fig)
    problems: list[str] = []
    texts = _texts(fig)
    fb = fig.bbox
    shrink = _shrink(fig)
    corners = [_corners(x.text, renderer) for x in texts]

    # 3. size as the reader sees it (one line per chart and size: a heatmap has hundreds)
    small: dict[tuple, list[str]] = {}
    for x in texts:
        seen = x.text.get_fontsize() * shrink
        if seen < MIN_FONT_PT - 0.05:
            small.setdefault((_where(x.ax), round(seen, 1)), []).append(_quote(x.text))
    for (where, seen), quoted in small.items():
        why = "" if shrink == 1 else f", the figure shrunk to {shrink:.0%} to fit the page"
        problems.append(
            f"{_many(quoted)} in {where} shown at {seen:.1f} pt (minimum {MIN_FONT_PT:g} pt{why})"
        )

    # 2. outside the figure
    outside: dict[str, list[str]] = {}
    for x, c in zip(texts, corners, strict=True):
        lo, hi = c.min(axis=0), c.max(axis=0)
        if (
            lo[0] < -TOL_PX
            or lo[1] < -TOL_PX
            or hi[0] > fb.width + TOL_PX
            or hi[1] > fb.height + TOL_PX
        ):
            outside.setdefault(_where(x.ax), []).append(f"{x.role} {_quote(x.text)}")
    for where, quoted in outside.items():
        problems.append(f"{_many(quoted)} in {where} outside the figure")

    # 1. overlapping texts (tick labels of one axis each other; any two texts of the chart)
    boxes = [(c.min(axis=0), c.max(axis=0)) for c in corners]
    overlaps: dict[tuple[str, str], list[str]] = {}
    for i in range(len(texts)):
        for j in range(i + 1, len(texts)):
            a, b = texts[i], texts[j]
            if a.group == b.group and a.role == "legend":
                continue  # a legend lays out its own entries
            (alo, ahi), (blo, bhi) = boxes[i], boxes[j]
            if alo[0] >= bhi[0] or blo[0] >= ahi[0] or alo[1] >= bhi[1] or blo[1] >= ahi[1]:
                continue
            if _overlap(corners[i], corners[j]):
                what = (
                    f"{a.role}s overlap" if a.group == b.group else f"{a.role} and {b.role} overlap"
                )
                key = (what, _where(a.ax or b.ax))
                overlaps.setdefault(key, []).append(f"{_quote(a.text)} and {_quote(b.text)}")
    for (what, where), pairs in overlaps.items():
        problems.append(f"{what} in {where}: {_many(pairs, 'pairs')}")

    # 4. legends over the data
    legends = [(lg, [ax]) for ax in fig.axes if (lg := ax.get_legend()) is not None]
    legends += [(lg, list(fig.axes)) for lg in fig.legends]
    for lg, axes in legends:
        if not lg.get_visible():
            continue
        lb = lg.get_window_extent(renderer)
        if lb.x1 - lb.x0 > 2 * TOL_PX and lb.y1 - lb.y0 > 2 * TOL_PX:
            lb = Bbox.from_extents(lb.x0 + TOL_PX, lb.y0 + TOL_PX, lb.x1 - TOL_PX, lb.y1 - TOL_PX)
        lo, hi = lb.min, lb.max
        if (
            lo[0] < -TOL_PX
            or lo[1] < -TOL_PX
            or hi[0] > fb.width + TOL_PX
            or hi[1] > fb.height + TOL_PX
        ):
            problems.append(f"legend of {_where(axes[0])} is outside the figure")
        for ax in axes:
            if not ax.get_visible() or not ax.bbox.overlaps(lb):
                continue
            box = Bbox.intersection(lb, ax.bbox)
            if box is None:
                continue
            if any(_hits(art, box, renderer) for art in _data_artists(ax)):
                problems.append(f"the legend covers plotted data in {_where(ax)}")
                break

    # 5, 6, 7. value axes, tick labels that lie, clipped markers
    for ax in fig.axes:
        if not ax.get_visible() or not ax.axison or ax.get_label() == "<colorbar>":
            continue
        if not _data_artists(ax):
            continue
        for name, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
            if not axis.get_visible():
                continue
            ticks = [
                (tk.get_loc(), tk.label1.get_text().strip())
                for tk in _drawn_ticks(axis)
                if _shown(tk.label1)
            ]
            labels = [s for _, s in ticks]
            if not labels:
                continue
            dupes = sorted({s for s in labels if labels.count(s) > 1})
            if dupes and not _is_date_axis(axis):  # concise dates: "2024 Jul 2025 Jul" is right
                problems.append(
                    f"{name} axis of {_where(ax)} labels different ticks the same: "
                    + ", ".join(repr(s) for s in dupes[:3])
                )
            negz = [s for s in labels if _NEG_ZERO.match(s)]
            if negz:
                problems.append(f"{name} axis of {_where(ax)} shows a negative zero {negz[0]!r}")
            if _is_date_axis(axis):
                continue
            if all(_BARE.match(s) for s in labels) and not (
                axis.label.get_text().strip() or ax.get_title().strip()
            ):
                problems.append(
                    f"{name} axis of {_where(ax)} shows bare numbers ({labels[0]!r}...) with no "
                    "axis title or chart title naming the measure and its unit"
                )
        cut = _clipped_markers(ax, renderer)
        if cut:
            problems.append(f"{cut} marker(s) cut by the edge of {_where(ax)}")

    log = os.environ.get(CHART_LOG_ENV)
    if log:
        record = {
            "alt": alt,
            "lang": settings().lang,
            "texts": [x.text.get_text() for x in texts],
            "problems": problems,
        }
        with open(log, "a", encoding="utf-8") as f:  # one short line per chart: O_APPEND is atomic
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
        return []
    return problems
