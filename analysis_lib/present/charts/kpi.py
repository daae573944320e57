"""Charts of the KPI monitor report: the trend by bucket, GMV against target, the GMV drivers.

House rules (REPORTS.md): concise dates in the report's language, axis titles with the unit and
the shop's currency, legends outside the data, text of at least 9 pt. Partial buckets (a week or
month only partly inside the period or the data, ``series.complete`` False) are drawn hollow or
faded and never joined to the line, so a three-day week does not read as a crash; the previous
period is drawn faded, shifted onto this one.

The trend is drawn here rather than with the shared ``charts.base.kpi_trend`` because it needs the
partial buckets and the previous period, which that one does not know about.

Drawing cost (issue 20): saving the six-panel trend lays it out (constrained layout, two passes),
measures it (the tight crop) and draws it, and each step asks every axis for its ticks again, some
thirty times per axis in all. The date locator, the concise date labels and the money ticks
(Babel) are computed once per axis view and remembered (:class:`_Within`, :class:`charts.base.ConciseDates`,
:func:`_tick_label`); titles are placed at the top of their axes as given (``y=1.0``), which is
where matplotlib's automatic placement puts them on these axes (nothing is drawn above the axes),
without measuring each axis again for every title. The picture is the same, pixel for pixel.
"""

from __future__ import annotations

import functools

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import matplotlib.ticker
import pandas as pd
from babel.numbers import get_currency_symbol
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from analysis_lib.core import metrics as M
from analysis_lib.present.charts.base import PALETTE, ConciseDates
from analysis_lib.present.context import Settings, settings
from analysis_lib.present.numbers import LOCALES, fmt
from analysis_lib.present.words import label, t

FONT = 9  # pt: the smallest text on these charts
FADED = "#94a3b8"


def _w(key: str, /, **values) -> str:
    return t(f"kpi_monitor.chart.{key}", **values)


def _kind(key: str) -> str:
    return M.METRICS[key].kind if key in M.METRICS else "ratio"


def currency_unit() -> str:
    """The shop's currency symbol (``¥``, ``$``) for axis titles; "amount" without a currency."""
    s = settings()
    if s.currency:
        return get_currency_symbol(s.currency, LOCALES[s.lang])
    return _w("axis.money")


def axis_unit(kind: str) -> str:
    """The unit of a value axis: the currency for money, ``%``, number or ratio."""
    return currency_unit() if kind == "money" else _w(f"axis.{kind}")


def tick(value: float, kind: str) -> str:
    """A value-axis tick: like the report's figures, money without decimals past 10."""
    if kind == "money":  # whole amounts without decimals: never a "0.00" tick
        return (
            fmt(value, "count") if abs(value) >= 10 or value == int(value) else fmt(value, "ratio")
        )
    return fmt(value, kind)


@functools.lru_cache(maxsize=4096)
def _tick_label(value: float, kind: str, _settings: Settings) -> str:
    """:func:`tick`, remembered per value, kind and settings (the key: ``fmt`` reads them)."""
    return tick(value, kind)


def _ticks(kind: str) -> matplotlib.ticker.FuncFormatter:
    """The tick formatter of a value axis of ``kind``."""
    return matplotlib.ticker.FuncFormatter(lambda v, _p: _tick_label(v, kind, settings()))


class _Within(mdates.AutoDateLocator):
    """Date ticks between two days only: no ``Jan`` / ``2026`` tick in the margin past a
    December period, and so the formatter's offset names the period's own year or month. The
    ticks of a view are computed once (they depend on the view only)."""

    def __init__(self, first: pd.Timestamp, last: pd.Timestamp):
        super().__init__(minticks=3, maxticks=7)
        self.bounds = (mdates.date2num(first) - 0.5, mdates.date2num(last) + 0.5)
        self._memo: dict[tuple, list[float]] = {}

    def __call__(self):
        key = tuple(self.axis.get_view_interval()) if self.axis is not None else None
        if key is None or key not in self._memo:
            lo, hi = self.bounds
            ticks = [x for x in super().__call__() if lo <= x <= hi]
            if key is None:
                return ticks
            self._memo[key] = ticks
        return list(self._memo[key])


def date_axis(ax, first: pd.Timestamp, last: pd.Timestamp) -> None:
    """Concise dates (``Oct``, ``Nov`` / ``10月``, ``11月``) that never overlap, ticked only
    between ``first`` and ``last``."""
    loc = _Within(first, last)
    f = ConciseDates(loc)
    if settings().lang == "zh":
        f.formats = ["%Y年", "%-m月", "%-d日", "%H:%M", "%H:%M", "%S"]
        f.zero_formats = ["", "%Y年", "%-m月", "%-m月%-d日", "%H:%M", "%H:%M"]
        f.offset_formats = ["", "%Y年", "%Y年%-m月", "%Y年%-m月%-d日", "%Y年%-m月%-d日", ""]
    ax.xaxis.set_major_locator(loc)
    ax.xaxis.set_major_formatter(f)
    ax.tick_params(axis="both", labelsize=FONT)


def axis_title(key: str) -> str:
    """A value axis's title names the measure with its unit: ``GMV (¥)``, ``Conversion rate
    (%)``, ``Orders`` (a count's name is its unit); never a bare ``¥`` or "number"."""
    kind = _kind(key)
    name = t(f"kpi_monitor.chart.measure.{key}") if key in ("gmv", "uv") else label(key)
    if kind in ("money", "pct"):
        return _w("unit_axis", metric=name, unit=axis_unit(kind))
    return name


def _value_axis(ax, key: str) -> None:
    ax.yaxis.set_major_formatter(_ticks(_kind(key)))
    ax.set_ylabel(axis_title(key), fontsize=FONT)


def trend(
    series: pd.DataFrame,
    previous: pd.DataFrame | None,
    keys: list[str],
    unit: str,
    last_day: pd.Timestamp,
    ncols: int = 3,
) -> plt.Figure:
    """Small multiples of ``keys`` by bucket: this period solid (complete buckets joined, partial
    ones hollow and apart), the previous period faded and shifted by the period's length onto
    this one. ``unit`` is the grain's word (week) for the title and legend; ``last_day`` the
    period's last day (the end of the date axis)."""
    nrows = -(-len(keys) // ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(3.4 * ncols, 2.6 * nrows + 0.8), squeeze=False, layout="constrained"
    )
    done = series[series["complete"]]
    part = series[~series["complete"]]
    shift = None
    if previous is not None and len(previous) and len(series):
        shift = series["bucket"].iloc[0] - previous["bucket"].iloc[0]
    for ax, key in zip(axes.flat, keys, strict=False):
        if shift is not None and key in previous:
            p = previous[previous["complete"]]
            ax.plot(p["bucket"] + shift, p[key], color=FADED, linewidth=1.2, alpha=0.7)
        ax.plot(done["bucket"], done[key], color=PALETTE[0], marker="o", markersize=3)
        if len(part):
            ax.plot(
                part["bucket"],
                part[key],
                linestyle="none",
                marker="o",
                markersize=5,
                markerfacecolor="white",
                markeredgecolor=PALETTE[0],
            )
        ax.set_title(label(key), fontsize=10, y=1.0)  # where matplotlib puts it (docstring)
        ax.set_xlabel("")
        _value_axis(ax, key)
        date_axis(ax, series["bucket"].min(), last_day)
    for ax in list(axes.flat)[len(keys) :]:
        ax.set_visible(False)
    handles = [Line2D([], [], color=PALETTE[0], marker="o", markersize=3, label=_w("this_period"))]
    if shift is not None:
        handles.append(Line2D([], [], color=FADED, label=_w("previous_period")))
    if len(part):
        handles.append(
            Line2D(
                [],
                [],
                linestyle="none",
                marker="o",
                markerfacecolor="white",
                markeredgecolor=PALETTE[0],
                label=_w("partial", unit=unit),
            )
        )
    fig.suptitle(_w("trend_title", unit=unit), fontweight="bold")
    fig.legend(
        handles=handles, loc="outside lower center", ncol=len(handles), frameon=False, fontsize=FONT
    )
    return fig


_BAR_DAYS = {"day": 0.8, "week": 5.5, "month": 24}


def actual_vs_target(
    series: pd.DataFrame,
    key: str,
    target: pd.Series | None,
    grain: str,
    unit: str,
    last_day: pd.Timestamp,
) -> plt.Figure:
    """Bars of ``key`` per bucket (partial buckets faded) with the target of each bucket as a
    line where there is one; the legend sits outside the data, on the right."""
    fig, ax = plt.subplots(figsize=(9.5, 3.8))
    colors = [PALETTE[0] if c else FADED for c in series["complete"]]
    ax.bar(series["bucket"], series[key], width=_BAR_DAYS[grain], color=colors)
    handles = [Rectangle((0, 0), 1, 1, color=PALETTE[0], label=label(key))]
    if not series["complete"].all():
        handles.append(Rectangle((0, 0), 1, 1, color=FADED, label=_w("partial", unit=unit)))
    if target is not None and target.notna().any():
        (line,) = ax.plot(
            series["bucket"],
            target.to_numpy(),
            color=PALETTE[1],
            marker="o",
            markersize=4,
            label=_w("target_line"),
        )
        handles.append(line)
    ax.legend(
        handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False, fontsize=FONT
    )
    _value_axis(ax, key)
    date_axis(ax, series["bucket"].min(), last_day)
    ax.set_title(_w("target_title", unit=unit))
    fig.tight_layout()
    return fig


def buyers_bars(series: pd.DataFrame, last_day: pd.Timestamp) -> plt.Figure:
    """New and returning buyers per day as stacked bars (a daily grain's 31 rows read better as a
    chart than as a table); the legend sits outside the data, on the right."""
    fig, ax = plt.subplots(figsize=(9.5, 3.6))
    x = series["bucket"]
    ax.bar(x, series["new_buyers"], width=0.8, color=PALETTE[0], label=label("new_buyers"))
    ax.bar(
        x,
        series["returning_buyers"],
        width=0.8,
        bottom=series["new_buyers"],
        color=PALETTE[1],
        label=label("returning_buyers"),
    )
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False, fontsize=FONT)
    ax.yaxis.set_major_formatter(_ticks("count"))
    ax.set_ylabel(label("buyers"), fontsize=FONT)
    date_axis(ax, x.min(), last_day)
    ax.set_title(_w("buyers_title"))
    fig.tight_layout()
    return fig


def contribution_bars(decomp: pd.DataFrame) -> plt.Figure:
    """Horizontal bars of each driver's contribution to the GMV change (rises green, falls red),
    each labelled with its signed amount."""
    fig, ax = plt.subplots(figsize=(8, 0.65 * len(decomp) + 1.6))
    labels = [label(k) for k in decomp["driver"]]
    vals = decomp["contribution"].fillna(0).to_numpy()
    ax.barh(labels, vals, color=["#16a34a" if v >= 0 else "#dc2626" for v in vals])
    ax.axvline(0, color="#334155", linewidth=0.8)
    for y, v in enumerate(vals):
        ax.text(
            v,
            y,
            " " + fmt(v, "signed_money") + " ",
            va="center",
            ha="left" if v >= 0 else "right",
            fontsize=FONT,
        )
    ax.invert_yaxis()
    ax.set_title(_w("drivers_title"))
    ax.set_xlabel(_w("drivers_axis", currency=currency_unit()), fontsize=FONT)
    ax.xaxis.set_major_formatter(_ticks("money"))
    ax.tick_params(axis="both", labelsize=FONT)
    ax.margins(x=0.3)
    fig.tight_layout()
    return fig
