"""The one chart theme, the house rules and the charts several reports share. Functions take small aggregated frames and return
a matplotlib Figure; they compute nothing that a report would show as a number.

Labels come from the data (categories, channels, brands, campaign names): they are drawn as plain
text (``text.parse_math`` off in :func:`setup`), so a ``$`` in a name is a dollar sign, not the
start of math text that fails the chart (``$$``) or swallows the name (``$x$``).

Chinese labels need a CJK font. It comes from the ``mplfonts`` package (Noto Sans CJK SC ships in
its wheel), registered with matplotlib at :func:`setup`, so ``lang: zh`` charts render on a fresh
machine with no system fonts.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import matplotlib.ticker
import pandas as pd
import seaborn as sns
from matplotlib import font_manager

from analysis_lib.core import metrics as M
from analysis_lib.present.report import fmt

CJK_FONT_FILE = "NotoSansCJKsc-Regular.otf"
PALETTE = ["#2563eb", "#f97316", "#16a34a", "#dc2626", "#7c3aed", "#0891b2", "#ca8a04", "#64748b"]


def cjk_font_path() -> Path:
    """Path of the bundled CJK font file (from the mplfonts package)."""
    return Path(str(resources.files("mplfonts") / "fonts" / CJK_FONT_FILE))


def setup(lang: str = "en") -> str:
    """Apply the workbook theme and register the CJK font; returns the font family in use. Every
    notebook calls it before its first chart, so every label is plain text."""
    path = cjk_font_path()
    font_manager.fontManager.addfont(str(path))
    family = font_manager.FontProperties(fname=str(path)).get_name()
    sns.set_theme(style="whitegrid", palette=PALETTE, font_scale=0.95)
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
        }
    )
    return family


def kpi_trend(
    series: pd.DataFrame, keys: list[str], lang: str = "en", ncols: int = 3
) -> plt.Figure:
    """Small multiples: one line per KPI over the buckets of ``series``."""
    nrows = -(-len(keys) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4 * ncols, 2.6 * nrows), squeeze=False)
    for ax, key in zip(axes.flat, keys, strict=False):
        sns.lineplot(
            data=series, x="bucket", y=key, ax=ax, marker="o", markersize=3, color=PALETTE[0]
        )
        ax.set_title(M.label(key, lang))
        ax.set_xlabel("")
        ax.set_ylabel("")
        kind = M.METRICS[key].kind if key in M.METRICS else "ratio"
        ax.yaxis.set_major_formatter(
            matplotlib.ticker.FuncFormatter(lambda v, _p, k=kind: _tick(v, k))
        )
        ax.tick_params(axis="x", labelrotation=30, labelsize=8)
    for ax in list(axes.flat)[len(keys) :]:
        ax.set_visible(False)
    fig.tight_layout()
    return fig


def _tick(value: float, kind: str) -> str:
    """Axis tick label: like :func:`fmt`, without decimals on money axes."""
    return fmt(value, "count") if kind == "money" and abs(value) >= 10 else fmt(value, kind)


def empty_chart(
    title: str = "", note: str = "not enough data for this chart / 数据不足"
) -> plt.Figure:
    """A small figure that says the chart has nothing to show, instead of failing the report."""
    fig, ax = plt.subplots(figsize=(6, 1.2))
    ax.axis("off")
    ax.set_title(title)
    ax.text(0.5, 0.4, note, ha="center", va="center", color="#64748b", transform=ax.transAxes)
    return fig


def heatmap(table: pd.DataFrame, title: str = "", kind: str = "pct") -> plt.Figure:
    """A heatmap of a small table of rates (rows: segments, columns: steps); a note in place of
    the chart when there is nothing to show (e.g. cohorts of a one-month period)."""
    if table.empty or table.astype(float).isna().all().all():
        return empty_chart(title)
    fig, ax = plt.subplots(figsize=(1.6 * table.shape[1] + 2.5, 0.5 * table.shape[0] + 1.6))
    annot = table.map(lambda v: fmt(v, kind))
    sns.heatmap(
        table.astype(float), annot=annot, fmt="", cmap="RdYlGn", ax=ax, cbar=False, linewidths=0.5
    )
    ax.set_title(title)
    ax.set_ylabel("")
    ax.tick_params(axis="x", labelrotation=20)
    fig.tight_layout()
    return fig


def rate_trend(df: pd.DataFrame, x: str, y: str, title: str = "", kind: str = "pct") -> plt.Figure:
    """A line of a rate over time."""
    fig, ax = plt.subplots(figsize=(9, 3.2))
    sns.lineplot(data=df, x=x, y=y, marker="o", ax=ax, color=PALETTE[0])
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _p: fmt(v, kind)))
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def _duration(seconds: float) -> str:
    if seconds == float("inf"):
        return "more"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"≤{seconds / size:.3g}{unit}"
    return f"≤{seconds:.3g}s"


def grouped_bars(df: pd.DataFrame, x: str, ys: list[str], title: str = "") -> plt.Figure:
    """Side-by-side bars of several columns per ``x`` value."""
    fig, ax = plt.subplots(figsize=(9, 3.6))
    long = df.melt(id_vars=[x], value_vars=ys, var_name="series", value_name="value")
    sns.barplot(data=long, x=x, y="value", hue="series", ax=ax, palette=PALETTE[: len(ys)])
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.set_title(title)
    ax.tick_params(axis="x", labelrotation=20)
    fig.tight_layout()
    return fig
