"""What a report shows of an impact estimate (:mod:`analysis_lib.analyses.causal`), in English and
Chinese: R CausalImpact's summary table (average and cumulative columns), the plain-language
paragraphs generated from its numbers, and the chart.

The paragraphs are templates filled from the summary, so every figure in the text is the figure in
the table and in results.json. They state the two assumptions the estimate rests on (the controls
were not affected by the intervention; their relation to the series held after it) and what would
break them, and they name the verdict with the house words (REPORTS.md): a credible effect when
the interval excludes zero, "inconclusive: the data cannot tell" otherwise, and the posterior
probability of a causal effect (a Bayesian posterior, never called a p-value).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis_lib.present.report import fmt

UNITS = {
    "day": ("day", "days", "天"),
    "week": ("week", "weeks", "周"),
    "month": ("month", "months", "个月"),
    "point": ("point", "points", "个时间点"),
}


def unit_of(index: pd.Index) -> str:
    """The spacing of the series' points: day, week, month, or point (by position or irregular)."""
    if not isinstance(index, pd.DatetimeIndex) or len(index) < 3:
        return "point"
    step = pd.Series(index).diff().dropna().median()
    days = step / pd.Timedelta(days=1)
    if abs(days - 1) < 0.01:
        return "day"
    if abs(days - 7) < 0.01:
        return "week"
    if 28 <= days <= 31:
        return "month"
    return "point"


def num(value: float, kind: str = "ratio", lang: str = "en") -> str:
    """A figure of the series: :func:`report.fmt` of ``kind``, except that plain numbers of 100 or
    more lose their decimals (an effect of 1,414,339.50 reads as 1,414,340)."""
    if kind == "ratio" and value is not None and abs(value) >= 100:
        return fmt(value, "count", lang)
    return fmt(value, kind, lang)


def _iv(lo: float, hi: float, kind: str, lang: str) -> str:
    return f"{num(lo, kind, lang)} … {num(hi, kind, lang)}"


def summary_table(s: dict, kind: str = "ratio", lang: str = "en", alpha: float = 0.05):
    """R's summary table: rows actual, prediction, its interval, absolute effect, its interval,
    relative effect, its interval; columns average (per point) and cumulative; formatted text."""
    ci = f"{1 - alpha:.0%}"
    av = s["average"]
    zh = lang == "zh"
    rows = [
        ("实际值" if zh else "Actual", num(av["actual"], kind, lang), num(s["actual"], kind, lang)),
        (
            "反事实预测" if zh else "Prediction (counterfactual)",
            num(av["predicted"], kind, lang),
            num(s["predicted"], kind, lang),
        ),
        (
            f"{ci} 可信区间" if zh else f"{ci} credible interval",
            _iv(av["predicted_lo"], av["predicted_hi"], kind, lang),
            _iv(s["predicted_lo"], s["predicted_hi"], kind, lang),
        ),
        (
            "绝对效应" if zh else "Absolute effect",
            num(av["estimate"], kind, lang),
            num(s["estimate"], kind, lang),
        ),
        (
            f"{ci} 可信区间" if zh else f"{ci} credible interval",
            _iv(av["ci_low"], av["ci_high"], kind, lang),
            _iv(s["ci_low"], s["ci_high"], kind, lang),
        ),
        (
            "相对效应" if zh else "Relative effect",
            fmt(s["relative"], "signed_pct", lang),
            fmt(s["relative"], "signed_pct", lang),
        ),
        (
            f"{ci} 可信区间" if zh else f"{ci} credible interval",
            _iv(s["relative_lo"], s["relative_hi"], "signed_pct", lang),
            _iv(s["relative_lo"], s["relative_hi"], "signed_pct", lang),
        ),
    ]
    cols = ["", "平均（每期）", "累计"] if zh else ["", "Average", "Cumulative"]
    return pd.DataFrame(rows, columns=cols)


def _level_warning(s: dict) -> str | None:
    """The Bayes factor for R's wider level prior, when the default was used and the pre-period
    favours the wider one strongly (over 20 to 1), as text; else None."""
    from analysis_lib.analyses.causal import R_LEVEL_SDS, STRONG_EVIDENCE

    lbf = s.get("level_prior_log_bf")
    if lbf is None or s.get("prior_level_sd") != R_LEVEL_SDS[0] or lbf <= STRONG_EVIDENCE:
        return None
    return "1,000+" if lbf > np.log(1000) else f"{np.exp(lbf):,.0f}"


def verdict(s: dict, lang: str = "en") -> str:
    """One phrase: a credible increase or decrease when the interval of the cumulative effect
    excludes zero, else inconclusive."""
    zh = lang == "zh"
    if not s["significant"]:
        return "不确定：数据不足以判断" if zh else "inconclusive: the data cannot tell"
    up = s["estimate"] > 0
    if zh:
        return "可信的增长" if up else "可信的下降"
    return "a credible increase" if up else "a credible decrease"


def paragraphs(
    s: dict,
    *,
    name: str,
    intervention: str,
    controls: list[str],
    unit: str = "point",
    kind: str = "ratio",
    lang: str = "en",
    alpha: float = 0.05,
    seasonal: int | None = None,
    placebo: dict | None = None,
    event: str | None = None,
) -> list[str]:
    """The plain-language report: averages, sums and relative effect, the verdict with the
    posterior probability of a causal effect, the assumptions and what would break them, and the
    placebo check. Every number comes from ``s`` (a :func:`analysis_lib.analyses.causal.summarise` dict);
    ``event`` names the intervention in ``lang`` ("the campaign"; default "the intervention")."""
    f = lambda v: num(v, kind, lang)  # noqa: E731
    pct = lambda v: fmt(v, "signed_pct", lang)  # noqa: E731
    ci = f"{1 - alpha:.0%}"
    av = s["average"]
    one, many, zh_unit = UNITS.get(unit, UNITS["point"])
    m = s["points"]
    prob = fmt(s["posterior_prob_causal_effect"], "pct", lang)
    up = s["estimate"] > 0
    if lang == "zh":
        out = [
            f"{event or '干预'}开始后的 {m} {zh_unit}里，{name} 平均每{zh_unit.removeprefix('个')}为 {f(av['actual'])}；"
            f"假如没有{event or '干预'}，反事实预测为 {f(av['predicted'])}（{ci} 可信区间 "
            f"{_iv(av['predicted_lo'], av['predicted_hi'], kind, lang)}）。两者之差即{event or '干预'}效应的估计："
            f"平均每{zh_unit.removeprefix('个')} {f(av['estimate'])}（{_iv(av['ci_low'], av['ci_high'], kind, lang)}）。",
            f"{event or '干预'}开始后合计 {f(s['actual'])}，反事实预测合计 {f(s['predicted'])}"
            f"（{_iv(s['predicted_lo'], s['predicted_hi'], kind, lang)}）：累计效应 {f(s['estimate'])}"
            f"（{ci} 可信区间 {_iv(s['ci_low'], s['ci_high'], kind, lang)}），"
            f"相对反事实 {pct(s['relative'])}（{_iv(s['relative_lo'], s['relative_hi'], 'signed_pct', lang)}）。",
        ]
        if s["significant"]:
            out.append(
                f"结论：{verdict(s, lang)}。存在因果效应的后验概率为 {prob}；累计效应的 {ci} 可信区间"
                f"{'全部高于' if up else '全部低于'}零，在模型假设成立时，这一{'增长' if up else '下降'}不太可能是偶然波动。"
            )
        else:
            out.append(
                f"结论：{verdict(s, lang)}。存在因果效应的后验概率为 {prob}；累计效应的 {ci} 可信区间包含零，"
                f"看到的{'增长' if up else '下降'}可能只是偶然波动。更长的干预后观察期或更好的对照序列能缩小区间。"
            )
        if controls:
            out.append(
                f"这一估计依赖两个假设：对照序列（{'、'.join(controls)}）没有受到{event or '干预'}影响；"
                f"它们与 {name} 在 {intervention} 之前的关系在{event or '干预'}后保持不变。"
                f"如果{event or '干预'}也推动了某个对照序列（例如活动同时带动了对照指标、竞争对手随之反应），"
                "或者这一关系因其他原因改变（价格调整、埋点变更、干预前数据没有覆盖的季节），效应估计就会有偏差。"
            )
        else:
            out.append(
                f"没有对照序列：反事实只是 {name} 自身水平"
                + ("和季节模式" if seasonal else "")
                + f"的外推，假设 {intervention} 之后没有其他变化；同期发生的任何其他变化都会被算作{event or '干预'}效应。"
            )
        bf = _level_warning(s)
        if bf:
            out.append(
                f"模型检验：干预前的数据更支持 R 的宽松水平先验（prior.level.sd 0.1）而不是默认的 0.01，"
                f"贝叶斯因子 {bf}：序列水平的波动超出了默认先验的假设，上面的区间可能偏窄，结论需谨慎。"
            )
        if placebo is not None and not placebo.get("available", True):
            out.append(
                f"安慰剂检验：无法进行，干预前的数据太短或在虚拟日期 {str(placebo['fake_date'])[:10]} 之前没有波动。"
            )
        elif placebo is not None:
            out.append(
                f"安慰剂检验：同一模型在干预前的虚拟日期 {str(placebo['fake_date'])[:10]} 上估计的累计效应为 "
                f"{f(placebo['estimate'])}（{_iv(placebo['ci_low'], placebo['ci_high'], kind, lang)}）；"
                + (
                    "区间包含零，符合预期。"
                    if placebo["covers_zero"]
                    else "区间不包含零：模型在没有干预的地方也看到了效应，上面的结论需谨慎对待。"
                )
            )
        if s.get("pre_period_constant"):
            out.append(
                f"注意：{name} 在{event or '干预'}之前没有任何波动，反事实就是这个常数，区间反映的是模型的先验而不是数据。"
            )
        return out
    ev = event or "the intervention"
    out = [
        f"During the {m} {many if m != 1 else one} after {ev} started, {name} averaged "
        f"{f(av['actual'])} per {one}. Without {ev} we would have expected "
        f"{f(av['predicted'])} ({ci} credible interval "
        f"{_iv(av['predicted_lo'], av['predicted_hi'], kind, lang)}). The difference is the "
        f"estimated effect: {f(av['estimate'])} per {one} "
        f"({_iv(av['ci_low'], av['ci_high'], kind, lang)}).",
        f"Summed over the post-period, {name} came to {f(s['actual'])} against a counterfactual of "
        f"{f(s['predicted'])} ({_iv(s['predicted_lo'], s['predicted_hi'], kind, lang)}): a "
        f"cumulative effect of {f(s['estimate'])} ({ci} credible interval "
        f"{_iv(s['ci_low'], s['ci_high'], kind, lang)}), or {pct(s['relative'])} against the "
        f"counterfactual ({_iv(s['relative_lo'], s['relative_hi'], 'signed_pct', lang)}).",
    ]
    direction = "increase" if up else "decrease"
    if s["significant"]:
        out.append(
            f"Verdict: {verdict(s, lang)}. The posterior probability of a causal effect is {prob}; "
            f"the {ci} credible interval of the cumulative effect lies entirely "
            f"{'above' if up else 'below'} zero, so under the model's assumptions the {direction} "
            "is unlikely to be chance."
        )
    else:
        out.append(
            f"Verdict: {verdict(s, lang)}. The posterior probability of a causal effect is {prob}, "
            f"and the {ci} credible interval of the cumulative effect includes zero: the apparent "
            f"{direction} could be chance. A longer post-period or better controls would narrow "
            "the interval."
        )
    if controls:
        out.append(
            f"This rests on two assumptions: the control series ({', '.join(controls)}) were not "
            f"affected by {ev}, and their relation to {name}, learned before "
            f"{intervention}, held after it. A control that {ev} also moved (a "
            "campaign that lifts the control too, a competitor reacting) or a change in that "
            "relation for another reason (a price change, a tracking change, a season the "
            "pre-period did not cover) would bias the effect."
        )
    else:
        out.append(
            f"Without control series the counterfactual extrapolates {name}'s own level"
            + (" and seasonal pattern" if seasonal else "")
            + f", assuming nothing else changed after {intervention}: anything else that changed "
            "at the same time is counted as the effect."
        )
    bf = _level_warning(s)
    if bf:
        out.append(
            "Model check: the pre-period favours R's wider level prior (prior.level.sd 0.1) over "
            f"its default 0.01 by a Bayes factor of {bf}: the series' level moves more than the "
            "default allows, so the intervals above are likely too narrow; treat the verdict with "
            "caution."
        )
    if placebo is not None and not placebo.get("available", True):
        out.append(
            "Placebo check: not possible; the pre-period is too short, or flat before the fake "
            f"date {str(placebo['fake_date'])[:10]}, for a second fit."
        )
    elif placebo is not None:
        out.append(
            f"Placebo check: the same model on a fake intervention at "
            f"{str(placebo['fake_date'])[:10]}, inside the pre-period, finds a cumulative effect "
            f"of {f(placebo['estimate'])} ({_iv(placebo['ci_low'], placebo['ci_high'], kind, lang)}); "
            + (
                "the interval covers zero, as it should."
                if placebo["covers_zero"]
                else "the interval excludes zero: the model sees an effect where there was none, "
                "so treat the estimate above with caution."
            )
        )
    if s.get("pre_period_constant"):
        out.append(
            f"Note: {name} did not vary at all before {ev}, so the counterfactual is that constant "
            "value and its interval reflects the model's priors, not the data."
        )
    return out


def chart(imp, lang: str = "en", kind: str = "ratio"):
    """Three panels as in CausalImpact: the actual series against the counterfactual with its
    band over the pre-period (the fit, so the reader can judge it) and the post-period; the
    pointwise effect; the cumulative effect from the intervention on."""
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    from analysis_lib.present.charts.base import PALETTE, _tick

    zh = lang == "zh"
    s, pre = imp.series, imp.pre_fit
    both = pd.concat(
        [
            pre[["actual", "predicted", "predicted_lo", "predicted_hi"]],
            s[["actual", "predicted", "predicted_lo", "predicted_hi"]],
        ]
    )
    fig, axes = plt.subplots(3, 1, figsize=(9, 7.5), sharex=True)
    ax = axes[0]
    ax.plot(
        both.index, both["actual"], color="#0f172a", linewidth=1, label="实际值" if zh else "Actual"
    )
    ax.plot(
        both.index,
        both["predicted"],
        color=PALETTE[0],
        linestyle="--",
        linewidth=1,
        label="反事实预测" if zh else "Counterfactual",
    )
    ax.fill_between(
        both.index,
        both["predicted_lo"],
        both["predicted_hi"],
        color=PALETTE[0],
        alpha=0.2,
        label=f"{1 - imp.alpha:.0%} 可信区间" if zh else f"{1 - imp.alpha:.0%} credible interval",
    )
    ax.set_title("实际值与反事实预测" if zh else "Actual against the counterfactual")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    eff = both["actual"] - both["predicted"]
    axes[1].plot(both.index, eff, color=PALETTE[1], linewidth=1)
    axes[1].fill_between(
        both.index,
        both["actual"] - both["predicted_hi"],
        both["actual"] - both["predicted_lo"],
        color=PALETTE[1],
        alpha=0.2,
    )
    axes[1].set_title("逐期效应" if zh else "Pointwise effect")
    zero = pd.Series(0.0, index=pre.index)  # zero by construction before the intervention (R)
    cum = pd.concat([zero, s["cum_effect"]])
    lo = pd.concat([zero, s["cum_effect_lo"]])
    hi = pd.concat([zero, s["cum_effect_hi"]])
    axes[2].plot(cum.index, cum, color=PALETTE[1], linewidth=1)
    axes[2].fill_between(cum.index, lo, hi, color=PALETTE[1], alpha=0.2)
    axes[2].set_title("累计效应" if zh else "Cumulative effect")
    for a in axes:
        a.axvline(s.index[0], color="#94a3b8", linestyle=":")
        a.yaxis.set_major_formatter(
            matplotlib.ticker.FuncFormatter(
                lambda v, _p: (
                    num(v, "count" if abs(v) >= 10 or v == 0 else kind, lang)
                    if kind == "ratio"
                    else _tick(v, kind)
                )
            )
        )
    for a in axes[1:]:
        a.axhline(0, color="#334155", linewidth=0.8)
    if isinstance(both.index, pd.DatetimeIndex):
        loc = mdates.AutoDateLocator()
        axes[2].xaxis.set_major_locator(loc)
        zh_formats = {
            "formats": ["%Y年", "%m月", "%d日", "%H:%M", "%H:%M", "%S.%f"],
            "zero_formats": ["", "%Y年", "%m月", "%m-%d", "%H:%M", "%H:%M"],
            "offset_formats": ["", "%Y年", "%Y年%m月", "%Y-%m-%d", "%Y-%m-%d", "%Y-%m-%d %H:%M"],
        }
        axes[2].xaxis.set_major_formatter(
            mdates.ConciseDateFormatter(loc, **(zh_formats if zh else {}))
        )
    fig.tight_layout()
    return fig


def html(paras: list[str]):
    """The paragraphs as escaped HTML for the report."""
    from analysis_lib.present.report import HTML, esc

    return HTML("".join(f'<p class="wb-note">{esc(p)}</p>' for p in paras))


def model_note(imp, lang: str = "en") -> str:
    """One sentence on the model behind the figures."""
    m = imp.model
    k = len(m.get("controls", {}))
    if lang == "zh":
        return (
            "贝叶斯结构时间序列（与 R CausalImpact 的默认模型相同）：局部水平"
            + (f"、对 {k} 个对照序列的回归（spike-and-slab 先验）" if k else "")
            + (f"、周期为 {m['seasonal']} 的季节项" if m.get("seasonal") else "")
            + f"；MCMC 共 {m['draws'] + m['burn']:,} 次迭代，舍弃前 {m['burn']} 次。"
        )
    return (
        "Bayesian structural time series (R CausalImpact's default model): a local level"
        + (f", a spike-and-slab regression on {k} control series" if k else "")
        + (f", a seasonal pattern of {m['seasonal']} points" if m.get("seasonal") else "")
        + f"; {m['draws'] + m['burn']:,} MCMC iterations, the first {m['burn']} discarded."
    )
