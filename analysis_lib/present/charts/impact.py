"""The chart of an impact estimate (campaign retrospective, intervention impact): three panels as
in R CausalImpact, with the fit over the pre-period drawn too (REPORTS.md: a counterfactual chart
shows the fit before the intervention, so the reader can judge it), axis titles with units and
currency, a concise date axis and the legend outside the data."""

from __future__ import annotations

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np
import pandas as pd
from babel import numbers as B

from analysis_lib.analyses.causal import Impact
from analysis_lib.present.charts.base import PALETTE
from analysis_lib.present.context import settings
from analysis_lib.present.narrative.impact import Event, Kind, Measure, Unit, ci_words, unit_of
from analysis_lib.present.numbers import LOCALES, fmt
from analysis_lib.present.words import t

ZH_DATES = {
    "formats": ["%Y年", "%m月", "%d日", "%H:%M", "%H:%M", "%S.%f"],
    "zero_formats": ["", "%Y年", "%m月", "%m-%d", "%H:%M", "%H:%M"],
    "offset_formats": ["", "%Y年", "%Y年%m月", "%Y-%m-%d", "%Y-%m-%d", "%Y-%m-%d %H:%M"],
}


def currency_symbol() -> str | None:
    """The shop's currency symbol in the report's locale (``¥``, ``CN¥``, ``$``), or None."""
    s = settings()
    return B.get_currency_symbol(s.currency, LOCALES[s.lang]) if s.currency else None


def _tick(v: float, _pos=None) -> str:
    """Axis numbers without the currency (the axis title carries it): whole numbers from 10."""
    return fmt(v, "count") if abs(v) >= 10 or float(v).is_integer() else fmt(v, "ratio")


def axis_titles(
    name: str, unit: Unit, kind: Kind, measure: Measure = "flow"
) -> tuple[str, str, str]:
    """The three panels' y-axis titles: the series per point, the effect per point, the
    cumulative effect; with the currency for money. A level series (a price, an index) is not
    per anything: its titles are the series' name and "Effect", and it has no cumulative panel."""
    if measure == "level":
        return t("impact.chart.y_series", name=name), t("impact.chart.y_effect_level"), ""
    per = t(f"impact.unit.{unit}.per")
    cur = currency_symbol() if kind == "money" else None
    if cur:
        return (
            t("impact.chart.y_level", name=name, unit=cur, per=per),
            t("impact.chart.y_effect", unit=cur, per=per),
            t("impact.chart.y_cumulative", unit=cur),
        )
    return (
        t("impact.chart.y_level_plain", name=name, per=per),
        t("impact.chart.y_effect_plain", per=per),
        t("impact.chart.y_cumulative_plain"),
    )


def alt_text(imp: Impact, name: str, event: Event, measure: Measure = "flow") -> str:
    """What the chart shows, for the image's alt text."""
    return t(
        "impact.chart.alt_level" if measure == "level" else "impact.chart.alt",
        name=name,
        event=t(f"impact.event.{event}"),
        ci=ci_words(imp.alpha),
        start=start_text(imp.series.index[0]),
    )


def start_text(x) -> str:
    """The first point after the start: a date, or a position in a series without dates
    (``point 70``, never a bare number)."""
    if isinstance(x, int | np.integer):
        return t("impact.point_at", n=fmt(int(x), "count"))
    return str(x)[:10]


def impact_chart(
    imp: Impact,
    *,
    name: str,
    kind: Kind = "ratio",
    event: Event = "intervention",
    measure: Measure = "flow",
) -> plt.Figure:
    """Three panels: the actual series against the counterfactual with its band over the
    pre-period (the fit) and after the start; the pointwise effect (actual minus counterfactual,
    over the fit too, where it is the residual); the cumulative effect from the start on (zero by
    construction before it, as R draws it). A level series has no cumulative panel: the sum of a
    price over weeks means nothing."""
    s, pre = imp.series, imp.pre_fit
    cols = ["actual", "predicted", "predicted_lo", "predicted_hi"]
    both = pd.concat([pre[cols], s[cols]])
    unit = unit_of(both.index)
    y_level, y_effect, y_cum = axis_titles(name, unit, kind, measure)
    panels = 2 if measure == "level" else 3
    fig, axes = plt.subplots(panels, 1, figsize=(9, 8 if panels == 3 else 6), sharex=True)
    ax = axes[0]
    ax.plot(
        both.index, both["actual"], color="#0f172a", linewidth=1, label=t("impact.chart.actual")
    )
    ax.plot(
        both.index,
        both["predicted"],
        color=PALETTE[0],
        linestyle="--",
        linewidth=1,
        label=t("impact.chart.counterfactual"),
    )
    ax.fill_between(
        both.index,
        both["predicted_lo"],
        both["predicted_hi"],
        color=PALETTE[0],
        alpha=0.2,
        label=ci_words(imp.alpha),
    )
    ax.set_title(t("impact.chart.fit_title"))
    ax.set_ylabel(y_level)
    eff = both["actual"] - both["predicted"]
    axes[1].plot(both.index, eff, color=PALETTE[1], linewidth=1)
    axes[1].fill_between(
        both.index,
        both["actual"] - both["predicted_hi"],
        both["actual"] - both["predicted_lo"],
        color=PALETTE[1],
        alpha=0.2,
    )
    axes[1].set_title(t("impact.chart.pointwise_title"))
    axes[1].set_ylabel(y_effect)
    if panels == 3:
        zero = pd.Series(0.0, index=pre.index)
        cum = pd.concat([zero, s["cum_effect"]])
        axes[2].plot(cum.index, cum, color=PALETTE[1], linewidth=1)
        axes[2].fill_between(
            cum.index,
            pd.concat([zero, s["cum_effect_lo"]]),
            pd.concat([zero, s["cum_effect_hi"]]),
            color=PALETTE[1],
            alpha=0.2,
        )
        axes[2].set_title(t("impact.chart.cumulative_title"))
        axes[2].set_ylabel(y_cum)
    for i, a in enumerate(axes):
        a.axvline(
            s.index[0],
            color="#64748b",
            linestyle=":",
            label=t("impact.chart.start", event=t(f"impact.event.{event}")) if i == 0 else None,
        )
        a.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(_tick))
    for a in axes[1:]:
        a.axhline(0, color="#334155", linewidth=0.8)
    axes[0].legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    if isinstance(both.index, pd.DatetimeIndex):
        loc = mdates.AutoDateLocator()
        axes[-1].xaxis.set_major_locator(loc)
        zh = settings().lang == "zh"
        axes[-1].xaxis.set_major_formatter(
            mdates.ConciseDateFormatter(loc, **(ZH_DATES if zh else {}))
        )
        axes[-1].set_xlabel(t("impact.chart.x_date"))
    else:
        axes[-1].set_xlabel(t("impact.chart.x_point"))
    fig.tight_layout()
    return fig
