"""Report building blocks: number formatting, the summary block, tables, the provenance footer,
and recording a run's headline figures.

Everything here returns HTML strings (wrapped for display by :func:`show`) and escapes every piece
of text that comes from params or data, so a campaign named ``<script>`` shows as text.
"""

from __future__ import annotations

import datetime as _dt
import html
import json
import math
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis_lib.core import metrics as M

FIGURES_MIME = "application/vnd.workbook.figures+json"

TEXT = {
    "summary": {"en": "Summary", "zh": "摘要"},
    "findings": {"en": "Findings", "zh": "主要发现"},
    "period": {"en": "Period", "zh": "周期"},
    "provenance": {"en": "Provenance", "zh": "数据来源与运行信息"},
    "params": {"en": "Params", "zh": "参数"},
    "data": {"en": "Data", "zh": "数据"},
    "code_version": {"en": "Code version", "zh": "代码版本"},
    "generated": {"en": "Generated", "zh": "生成时间"},
    "fingerprint": {"en": "Data fingerprint", "zh": "数据指纹"},
    "data_quality": {"en": "Data quality", "zh": "数据质量"},
}

# Chinese for the data-quality checks and handlings of analysis_lib.core.quality
_DQ_ZH = {
    "status not paid, refunded or cancelled": "状态不是 paid/refunded/cancelled",
    "not counted in GMV or orders": "不计入 GMV 和订单数",
    "zero GMV": "GMV 为 0",
    "counted as orders with no GMV": "计为订单，GMV 为 0",
    "refund above the amount paid": "退款金额高于实付金额",
    "kept as recorded; check the refund feed": "按原样保留，请核对退款数据",
    "missing channel": "渠道缺失",
    "missing device": "设备缺失",
    "grouped as '(none)'": "归入“(none)”",
    "duplicate line (order_id, sku)": "重复的订单行 (order_id, sku)",
    "summed as recorded": "按原样加总",
    "quantity zero or negative": "数量为 0 或负数",
    "negative unit price": "单价为负",
    "kept as recorded": "按原样保留",
    "duplicate event (same user, time, event)": "重复事件（同一用户、时间、事件）",
    "a unit counts once per step": "每一步每个单位只计一次",
    "missing signup time": "注册时间缺失",
    "kept; no signup cohort": "保留，不归入注册同期群",
    "price zero or negative": "价格为 0 或负数",
    "negative stock": "库存为负",
    "treated as zero": "按 0 处理",
    "duplicate (date, sku)": "重复的 (date, sku)",
    "negative spend": "投放花费为负",
    "unit assigned to more than one variant": "同一单位被分到多个组",
    "left out of the experiment": "不计入实验",
    "period runs past the last row": "统计期超出最后一行数据",
    "figures cover only the days with data (rows = days)": "数字只含有数据的日期（行数 = 天数）",
    "missing value": "缺失值",
    "skipped by the model's Kalman filter": "由模型的卡尔曼滤波跳过",
    "duplicate date": "重复日期",
    "read as text: ids join and compare as text": "按文本读取：编号按文本关联和比较",
}


def t(key: str, lang: str) -> str:
    """A fixed UI phrase in ``lang``."""
    entry = TEXT.get(key, {})
    return entry.get(lang) or entry.get("en") or key


def fmt(value: Any, kind: str = "count", lang: str | None = None) -> str:
    """Format a number for a manager: money with thousands separators, percentages with one
    decimal, counts as integers, durations in their largest unit; ``n/a`` for missing values.
    ``lang`` defaults to the report's language (:func:`set_lang`)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    v = float(value)
    if math.isinf(v):
        return "∞" if v > 0 else "-∞"
    if kind == "money":
        if abs(v) >= 1e6:
            return f"{v / 1e6:,.2f}M"
        return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:,.2f}"
    if kind == "pct":
        return f"{v * 100:.1f}%"
    if kind == "pp":
        return f"{v * 100:+.1f} pp"
    if kind == "signed_pct":
        return f"{v * 100:+.1f}%"
    if kind == "ratio":
        return f"{v:,.2f}"
    if kind == "duration":
        return _duration(v, lang or _LANG["lang"])
    return f"{v:,.0f}"


_DURATION_UNITS = (  # (seconds, en, zh): the largest unit the value reaches
    (86400.0, "d", "天"),
    (3600.0, "h", "小时"),
    (60.0, "min", "分钟"),
    (1.0, "s", "秒"),
)


def _duration(seconds: float, lang: str) -> str:
    """Elapsed seconds in the largest unit they reach, two significant digits at most one
    decimal (``45 s``, ``1.2 min``, ``3.4 h``, ``2.1 d``; ``1.2 分钟``): never raw seconds
    beside fractions of an hour."""
    size, en, zh = next((u for u in _DURATION_UNITS if abs(seconds) >= u[0]), _DURATION_UNITS[-1])
    n = seconds / size
    text = f"{n:.0f}" if abs(n) >= 10 else f"{n:.1f}".removesuffix(".0")
    return f"{text} {zh}" if lang == "zh" else f"{text} {en}"


def fmt_metric(key: str, value: Any, lang: str = "en") -> str:
    """Format ``value`` the way metric ``key`` is displayed."""
    m = M.METRICS.get(key)
    return fmt(value, m.kind if m else "ratio", lang)


def esc(text: Any) -> str:
    """HTML-escape any text that comes from params or data."""
    return html.escape(str(text), quote=True)


class HTML:
    """A displayable HTML fragment (renders in Jupyter and in the nbconvert report)."""

    def __init__(self, markup: str):
        self.markup = markup

    def _repr_html_(self) -> str:
        return self.markup

    def __str__(self) -> str:
        return self.markup


def title_block(title: str, subtitle: str) -> HTML:
    """The report's title and subtitle (escaped)."""
    return HTML(f'<div class="wb-title"><h1>{esc(title)}</h1><p>{esc(subtitle)}</p></div>')


def summary_block(cards: list[tuple[str, str, str]], findings: list[str], lang: str = "en") -> HTML:
    """The summary first: headline figure cards (label, value, note) and findings sentences."""
    card_html = "".join(
        f'<div class="wb-card"><div class="wb-card-label">{esc(lbl)}</div>'
        f'<div class="wb-card-value">{esc(val)}</div><div class="wb-card-note">{esc(note)}</div></div>'
        for lbl, val, note in cards
    )
    items = "".join(f"<li>{esc(s)}</li>" for s in findings)
    return HTML(
        f'<section class="wb-summary"><h2>{esc(t("summary", lang))}</h2>'
        f'<div class="wb-cards">{card_html}</div>'
        f'<h3>{esc(t("findings", lang))}</h3><ul class="wb-findings">{items}</ul></section>'
    )


_LANG = {"lang": "en"}

# names of result columns and headline figures that are not metrics: (en, zh)
HEADERS = {
    "verdict_variant": ("Variant", "组别"),
    "mde_primary": ("Detectable effect", "可检测效应"),
    "net_incremental_gmv": ("Net incremental GMV", "净增量 GMV"),
    "posterior_prob_causal_effect": (
        "Posterior probability of a causal effect",
        "存在因果效应的后验概率",
    ),
    "post_dip_gmv": ("Post-campaign dip", "活动后回落"),
    "repeat_customer_share": ("Repeat customers", "复购客户占比"),
    "overall_conversion": ("Overall conversion", "整体转化率"),
    "bottleneck_step": ("Bottleneck", "瓶颈步骤"),
    "bottleneck_segment": ("Worst segment", "最差分组"),
    "cumulative_effect": ("Cumulative effect", "累计效应"),
    "relative_effect": ("Relative effect", "相对效应"),
    "gmv_change_pop": ("GMV vs previous period", "GMV 环比"),
    "gmv_change_yoy": ("GMV vs last year", "GMV 同比"),
    "gmv_deviation_rate": ("GMV vs target", "GMV 目标偏差率"),
    "market_size": ("Market size", "市场规模"),
    "market_growth_yoy": ("Market growth YoY", "市场同比增长"),
    "our_share": ("Our share", "我方份额"),
    "our_rank": ("Our rank", "我方排名"),
    "hhi": ("HHI", "HHI"),
    "cr3": ("CR3", "CR3"),
    "stockout_risk_skus": ("Stock-out risk SKUs", "断货风险 SKU"),
    "target_total": ("Target", "目标"),
    "baseline_forecast_total": ("Baseline forecast", "基线预测"),
    "p_reach_target": ("P(reach target)", "达成目标概率"),
    "required_uplift": ("Uplift needed", "所需提升"),
    "abc": ("ABC class", "ABC 分类"),
    "action": ("Action", "动作"),
    "age_band": ("Age", "年龄段"),
    "calibration_repeats": ("Repeat purchases (calibration)", "校准期复购次数"),
    "campaign_gmv": ("Campaign GMV", "活动 GMV"),
    "category": ("Category", "品类"),
    "channel": ("Channel", "渠道"),
    "city_tier": ("City tier", "城市等级"),
    "cohort": ("Cohort", "同期群"),
    "control_value": ("Control", "对照组"),
    "customers": ("Customers", "客户数"),
    "days_of_supply": ("Days of supply", "可售天数"),
    "extra_gmv": ("Extra GMV", "增量 GMV"),
    "gender": ("Gender", "性别"),
    "gmv_share": ("GMV share", "GMV 占比"),
    "gross_margin": ("Gross margin", "毛利率"),
    "incremental_gmv": ("Incremental GMV", "增量 GMV"),
    "iroas": ("iROAS", "增量 ROAS"),
    "iroas_hi": ("iROAS high", "增量 ROAS 上限"),
    "iroas_lo": ("iROAS low", "增量 ROAS 下限"),
    "ltv_cac": ("LTV / CAC", "LTV / CAC"),
    "new_customers": ("New customers", "新客数"),
    "offset": ("Months since first order", "首单后月数"),
    "on_hand": ("On hand", "库存"),
    "p_value": ("p-value", "p 值"),
    "predicted": ("Predicted", "预测"),
    "actual": ("Actual", "实际"),
    "price_position": ("Price position", "价格分位"),
    "region": ("Region", "地区"),
    "rel_ci_high": ("Relative CI high", "相对差置信上限"),
    "rel_ci_low": ("Relative CI low", "相对差置信下限"),
    "rel_diff": ("Relative difference", "相对差异"),
    "relative_change": ("Relative change", "相对变化"),
    "revenue": ("Revenue", "销售额"),
    "revenue_share": ("Revenue share", "销售额占比"),
    "roi_hi": ("ROI high", "ROI 上限"),
    "roi_lo": ("ROI low", "ROI 下限"),
    "segment": ("Segment", "分群"),
    "sell_through_rate": ("Sell-through rate", "动销率"),
    "share_of_extra": ("Share of extra GMV", "增量占比"),
    "sku": ("SKU", "SKU"),
    "skus": ("SKUs", "SKU 数"),
    "slow_movers": ("Slow movers", "滞销 SKU"),
    "spend": ("Spend", "花费"),
    "spend_tier": ("Spend tier", "消费层级"),
    "step": ("Step", "步骤"),
    "stockout_risk": ("Stock-out risk", "断货风险"),
    "target_achievement": ("Target achieved", "目标达成率"),
    "target_gmv": ("Target GMV", "目标 GMV"),
    "treatment_value": ("Treatment", "实验组"),
    "units": ("Units", "数量"),
    "variant": ("Variant", "组别"),
    "verdict": ("Verdict", "结论"),
}


def set_lang(lang: str) -> None:
    """The report's language, for headers :func:`table` names itself (notebooks call this once)."""
    _LANG["lang"] = lang
    from analysis_lib.present.context import configure

    configure(lang=lang)


def header(column: str, lang: str | None = None) -> str:
    """A column header a manager can read: the metric's label when ``column`` is a metric of
    :mod:`analysis_lib.core.metrics`, else the name with spaces (``gmv_share`` -> ``GMV share``)."""
    lang = lang or _LANG["lang"]
    if column in M.METRICS:
        return M.label(column, lang)
    if column in HEADERS:
        en, zh = HEADERS[column]
        return zh if lang == "zh" else en
    words = str(column).split("_")
    acronyms = {"gmv", "aov", "cac", "ltv", "roi", "roas", "uv", "sku", "abc", "id", "p90"}
    words = [w.upper() if w.lower() in acronyms else w for w in words]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def table(
    df: pd.DataFrame, formats: dict[str, str] | None = None, labels: dict[str, str] | None = None
) -> HTML:
    """A small, escaped HTML table; ``formats`` maps a column to a kind for :func:`fmt`;
    ``labels`` names columns, the others get :func:`header`."""
    formats = formats or {}
    shown = df.copy()
    for col, kind in formats.items():
        if col in shown:
            shown[col] = [fmt(v, kind) for v in shown[col]]
    names = {c: header(c) for c in shown.columns if isinstance(c, str)} | (labels or {})
    shown = shown.rename(columns=names)
    if isinstance(shown.columns.name, str):  # a pivot's column axis, e.g. months since first order
        shown.columns.name = header(shown.columns.name)
    return HTML(shown.to_html(index=False, escape=True, classes="wb-table", border=0, na_rep="n/a"))


def section(title: str, note: str = "") -> HTML:
    """A section heading with an optional one-line note."""
    p = f'<p class="wb-note">{esc(note)}</p>' if note else ""
    return HTML(f"<h2>{esc(title)}</h2>{p}")


def data_quality(findings: list, lang: str = "en") -> HTML:
    """The data-quality section every report ends with: each check that found rows, with the
    count, its share of the rows checked and what the analysis did with them; then how many
    checks passed. ``findings`` are :class:`analysis_lib.core.quality.Finding` items."""

    def tr(text: str) -> str:
        if lang != "zh":
            return text
        if text.startswith("period runs past the last row ("):  # names the last day with data
            return f"统计期超出最后一行数据（{text.rsplit('(', 1)[1].rstrip(')')}）"
        if " stored as a number (" in text:  # an id column read as text: names column and type
            col, typ = text.split(" stored as a number (")
            return f"{col} 以数字存储（{typ.rstrip(')')}）"
        return _DQ_ZH.get(text, text)

    hits = [f for f in findings if f.rows]
    passed = len(findings) - len(hits)
    if lang == "zh":
        note = f"{len(findings)} 项检查，{passed} 项通过" + (
            "；以下问题不影响运行，已按所列方式处理。" if hits else "，未发现问题。"
        )
        cols = ["表", "检查", "行数", "占比", "处理方式"]
    else:
        note = f"{len(findings)} checks, {passed} passed" + (
            "; the run went on with the rows below, handled as stated."
            if hits
            else "; no problems found."
        )
        cols = ["Table", "Check", "Rows", "Share", "Handling"]
    out = f'<h2>{esc(t("data_quality", lang))}</h2><p class="wb-note">{esc(note)}</p>'
    if hits:
        df = pd.DataFrame(
            [
                [
                    f.table,
                    tr(f.check),
                    fmt(f.rows),
                    fmt(f.rows / f.total if f.total else None, "pct"),
                    tr(f.handling),
                ]
                for f in hits
            ],
            columns=cols,
        )
        out += table(df).markup
    return HTML(f'<section class="wb-quality">{out}</section>')


def code_version() -> str:
    """The code version: the git commit (with ``-dirty`` when files differ), else the package
    version."""
    from analysis_lib import __version__

    root = Path(__file__).resolve().parents[2]
    try:
        rev = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
        return f"{__version__}+{rev}{'-dirty' if dirty else ''}"
    except (OSError, subprocess.SubprocessError):
        return __version__


def provenance(params: dict, fingerprint: str, lang: str = "en") -> HTML:
    """The provenance footer: params, data fingerprint, code version and time of the run."""
    from analysis_lib.core.data import redact_params  # a data URL's password is never shown

    now = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    shown = json.dumps(redact_params(params), ensure_ascii=False, indent=1, default=str)
    return HTML(
        f'<footer class="wb-footer"><h3>{esc(t("provenance", lang))}</h3>'
        f"<p>{esc(t('fingerprint', lang))}: {esc(fingerprint)} · {esc(t('code_version', lang))}: "
        f"{esc(code_version())} · {esc(t('generated', lang))}: {esc(now)}</p>"
        f"<details><summary>{esc(t('params', lang))}</summary><pre>{esc(shown)}</pre></details></footer>"
    )


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        return None
    if isinstance(v, _dt.date | pd.Timestamp):
        return v.isoformat()
    return v


def record_figures(figures: dict[str, Any], headline: list[str] | None = None) -> dict[str, Any]:
    """Record the run's figures: the runner reads them from the executed notebook into
    results.json (they are not shown in the report). ``headline`` names, in order, the few figures
    the index shows for this report. Returns the JSON-ready figures."""
    clean = _jsonable(figures)
    json.dumps(clean)  # fail here, in the notebook, if something is not serialisable
    try:
        from IPython.display import display

        display({FIGURES_MIME: {"figures": clean, "headline": list(headline or [])}}, raw=True)
    except ImportError:  # pragma: no cover - IPython is a dependency
        pass
    return clean


def figure(fig) -> None:
    """Display a matplotlib figure here, in order with the HTML around it, and close it."""
    import matplotlib.pyplot as plt
    from IPython.display import display

    display(fig)
    plt.close(fig)


def interactive() -> bool:
    """Whether the notebook runs for a person (JupyterLab) rather than a scheduled run."""
    import os

    return os.environ.get("WORKBOOK_BATCH") != "1"


def show(*parts: HTML) -> None:
    """Display HTML fragments in the notebook (and so in the report)."""
    from IPython.display import HTML as _IPyHTML
    from IPython.display import display

    display(_IPyHTML("".join(str(p) for p in parts)))
