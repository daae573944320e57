"""The one chart theme and the standard charts. Functions take small aggregated frames and return
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

from analysis_lib import metrics as M
from analysis_lib.report import fmt

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


def contribution_bars(decomp: pd.DataFrame, lang: str = "en", title: str = "") -> plt.Figure:
    """Horizontal bars of each driver's contribution to a change (positive green, negative red)."""
    fig, ax = plt.subplots(figsize=(7, 0.6 * len(decomp) + 1.2))
    labels = [M.label(k, lang) for k in decomp["driver"]]
    vals = decomp["contribution"].fillna(0).to_numpy()
    ax.barh(labels, vals, color=["#16a34a" if v >= 0 else "#dc2626" for v in vals])
    ax.axvline(0, color="#334155", linewidth=0.8)
    for y, v in enumerate(vals):
        ax.text(
            v,
            y,
            " " + fmt(v, "money") + " ",
            va="center",
            ha="left" if v >= 0 else "right",
            fontsize=9,
        )
    ax.invert_yaxis()
    ax.set_title(title)
    ax.margins(x=0.25)
    fig.tight_layout()
    return fig


def actual_vs_target(
    series: pd.DataFrame,
    key: str,
    target_per_bucket: pd.Series | None,
    lang: str = "en",
    title: str = "",
) -> plt.Figure:
    """Bars of a metric per bucket, with the target per bucket as a line where given."""
    fig, ax = plt.subplots(figsize=(9, 3.6))
    x = series["bucket"].dt.strftime("%Y-%m-%d")
    ax.bar(x, series[key], color=PALETTE[0], label=M.label(key, lang))
    if target_per_bucket is not None and target_per_bucket.notna().any():
        ax.plot(
            x,
            target_per_bucket.to_numpy(),
            color=PALETTE[1],
            marker="o",
            label={"en": "Target", "zh": "目标"}[lang],
        )
        ax.legend(loc="upper left")
    kind = M.METRICS[key].kind if key in M.METRICS else "ratio"
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _p: _tick(v, kind)))
    ax.tick_params(axis="x", labelrotation=45, labelsize=8)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def _tick(value: float, kind: str) -> str:
    """Axis tick label: like :func:`fmt`, without decimals on money axes."""
    return fmt(value, "count") if kind == "money" and abs(value) >= 10 else fmt(value, kind)


def funnel_bars(table: pd.DataFrame, lang: str = "en", title: str = "") -> plt.Figure:
    """The funnel: one bar per step (units), labelled with overall and step conversion."""
    fig, ax = plt.subplots(figsize=(8, 0.55 * len(table) + 1.2))
    ax.barh(table["step"], table["units"], color=PALETTE[0])
    top = table["units"].max()
    for y, (n, oc, sc) in enumerate(
        zip(table["units"], table["overall_conversion"], table["step_conversion"], strict=True)
    ):
        label = f" {fmt(n)}  ({fmt(oc, 'pct')} {'overall' if lang == 'en' else '总转化'}; {fmt(sc, 'pct')} {'step' if lang == 'en' else '步骤转化'})"
        ax.text(n, y, label, va="center", fontsize=9)
    ax.set_xlim(0, top * 1.8)
    ax.invert_yaxis()
    ax.set_title(title)
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _p: fmt(v)))
    fig.tight_layout()
    return fig


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


def duration_histogram(hist: pd.DataFrame, title: str = "") -> plt.Figure:
    """Bars of units per time-to-convert bin (log-spaced upper bounds in seconds)."""
    fig, ax = plt.subplots(figsize=(9, 3.2))
    labels = [_duration(u) for u in hist["upper_s"]]
    ax.bar(labels, hist["units"], color=PALETTE[2])
    ax.tick_params(axis="x", labelrotation=45, labelsize=8)
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


def interval_plot(
    df: pd.DataFrame, label_col: str, est: str, lo: str, hi: str, title: str = ""
) -> plt.Figure:
    """Estimates with intervals, one row each (a forest plot), a line at zero; relative changes."""
    fig, ax = plt.subplots(figsize=(8, 0.5 * len(df) + 1.4))
    y = range(len(df))
    colors = [
        PALETTE[2] if lo_ > 0 else PALETTE[3] if hi_ < 0 else PALETTE[7]
        for lo_, hi_ in zip(df[lo], df[hi], strict=True)
    ]
    for yi, e, l_, h_, c in zip(y, df[est], df[lo], df[hi], colors, strict=True):
        ax.errorbar([e], [yi], xerr=[[e - l_], [h_ - e]], fmt="o", color=c, ecolor=c, capsize=4)
    ax.axvline(0, color="#334155", linewidth=0.8)
    ax.set_yticks(list(y), df[label_col])
    ax.xaxis.set_major_formatter(
        matplotlib.ticker.FuncFormatter(lambda v, _p: fmt(v, "signed_pct"))
    )
    ax.invert_yaxis()
    ax.set_title(title)
    fig.tight_layout()
    return fig


def band_trend(
    df: pd.DataFrame, x: str, est: str, lo: str, hi: str, hue: str, title: str = ""
) -> plt.Figure:
    """A line per ``hue`` value with its interval as a band (e.g. cumulative lift by day)."""
    fig, ax = plt.subplots(figsize=(9, 3.4))
    for i, (name, g) in enumerate(df.groupby(hue)):
        c = PALETTE[i % len(PALETTE)]
        ax.plot(g[x], g[est], color=c, label=str(name))
        ax.fill_between(g[x], g[lo], g[hi], color=c, alpha=0.15)
    ax.axhline(0, color="#334155", linewidth=0.8)
    ax.yaxis.set_major_formatter(
        matplotlib.ticker.FuncFormatter(lambda v, _p: fmt(v, "signed_pct"))
    )
    ax.legend(loc="upper right")
    ax.set_title(title)
    ax.tick_params(axis="x", labelrotation=30)
    fig.tight_layout()
    return fig


def growth_share(
    matrix: pd.DataFrame, growth_split: float, share_split: float, title: str = ""
) -> plt.Figure:
    """The growth x share matrix: one bubble per category (size = market size), split lines."""
    fig, ax = plt.subplots(figsize=(8, 5))
    size = 2000 * matrix["market_size"] / matrix["market_size"].max()
    colors = {
        "opportunity": PALETTE[1],
        "star": PALETTE[2],
        "defend": PALETTE[0],
        "deprioritise": PALETTE[7],
    }
    ax.scatter(
        matrix["our_share"],
        matrix["growth_yoy"],
        s=size,
        c=[colors[q] for q in matrix["quadrant"]],
        alpha=0.6,
    )
    for _, r in matrix.iterrows():
        ax.annotate(
            str(r["category"]),
            (r["our_share"], r["growth_yoy"]),
            ha="center",
            va="center",
            fontsize=9,
        )
    ax.axvline(share_split, color="#334155", linewidth=0.8, linestyle="--")
    ax.axhline(growth_split, color="#334155", linewidth=0.8, linestyle="--")
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _p: fmt(v, "pct")))
    ax.yaxis.set_major_formatter(
        matplotlib.ticker.FuncFormatter(lambda v, _p: fmt(v, "signed_pct"))
    )
    ax.set_xlabel("our share")
    ax.set_ylabel("growth YoY")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def forecast_chart(
    history: pd.Series, fc: pd.DataFrame, label: str = "", title: str = ""
) -> plt.Figure:
    """History as a line, the forecast mean as a dashed line with its interval as a band."""
    fig, ax = plt.subplots(figsize=(9, 3.6))
    ax.plot(
        history.index, history.to_numpy(), color=PALETTE[0], marker="o", markersize=3, label=label
    )
    ax.plot(fc.index, fc["mean"], color=PALETTE[1], linestyle="--", label="forecast")
    ax.fill_between(fc.index, fc["lo"], fc["hi"], color=PALETTE[1], alpha=0.2)
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _p: _tick(v, "money")))
    ax.legend(loc="upper left")
    ax.set_title(title)
    fig.tight_layout()
    return fig


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


def impact_chart(imp) -> plt.Figure:
    """Three panels as in CausalImpact: actual against the counterfactual, the pointwise effect and
    the cumulative effect, each with its band."""
    fig, axes = plt.subplots(3, 1, figsize=(9, 7), sharex=True)
    s, pre = imp.series, imp.pre_fit
    ax = axes[0]
    ax.plot(pre.index, pre["actual"], color="#0f172a", linewidth=1)
    ax.plot(s.index, s["actual"], color="#0f172a", linewidth=1, label="actual")
    ax.plot(s.index, s["predicted"], color=PALETTE[0], linestyle="--", label="counterfactual")
    ax.fill_between(s.index, s["predicted_lo"], s["predicted_hi"], color=PALETTE[0], alpha=0.2)
    ax.legend(loc="upper left")
    for a, (mid, lo, hi) in zip(
        axes[1:],
        [("effect", "effect_lo", "effect_hi"), ("cum_effect", "cum_effect_lo", "cum_effect_hi")],
        strict=True,
    ):
        a.plot(s.index, s[mid], color=PALETTE[1])
        a.fill_between(s.index, s[lo], s[hi], color=PALETTE[1], alpha=0.2)
        a.axhline(0, color="#334155", linewidth=0.8)
        a.set_ylabel({"effect": "pointwise", "cum_effect": "cumulative"}[mid])
    for a in axes:
        a.axvline(s.index[0], color="#94a3b8", linestyle=":")
    fig.tight_layout()
    return fig
