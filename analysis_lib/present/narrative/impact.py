"""What a report says of an impact estimate (:mod:`analysis_lib.analyses.causal`), shared by the
campaign retrospective and the intervention impact reports: R CausalImpact's summary table
(average and cumulative columns) and the plain-language paragraphs generated from its numbers.

The paragraphs are catalog templates (``catalog/impact.yaml``) filled from one
:class:`~analysis_lib.analyses.causal.Effect`, so every figure in the text is the figure in the
table and in results.json. They state the two assumptions the estimate rests on (the controls were
not affected by the intervention; their relation to the series held after it) and what would
break them, and they name the verdict with the house words (REPORTS.md): a credible effect when the
interval excludes zero, "inconclusive: the data cannot tell" otherwise, and the probability of a
causal effect (a Bayesian posterior, never called a p-value; :func:`probability_note` says why it
can be 90% beside an interval that includes zero).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from analysis_lib.analyses.causal import R_LEVEL_SDS, STRONG_EVIDENCE, Effect, ModelInfo, Placebo
from analysis_lib.present.numbers import fmt
from analysis_lib.present.words import t

Unit = Literal["day", "week", "month", "point"]
Event = Literal["intervention", "campaign"]
Kind = Literal["money", "ratio"]  # money: the shop's currency; ratio: the series' own units


def unit_of(index: pd.Index) -> Unit:
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


def num(value: float, kind: Kind = "ratio") -> str:
    """A figure of the series: money in the shop's currency; a series in its own units with two
    decimals below 100 and none from 100 (an effect of 1,414,339.50 reads as 1,414,340)."""
    if kind == "money":
        return fmt(value, "money")
    if value is not None and abs(value) >= 100:
        return fmt(value, "count")
    return fmt(value, "ratio")


def interval(lo: float, hi: float, kind: Kind | Literal["signed_pct"] = "ratio") -> str:
    """``lo … hi``."""
    f = (lambda v: fmt(v, "signed_pct")) if kind == "signed_pct" else (lambda v: num(v, kind))
    return f"{f(lo)} … {f(hi)}"


def ci_words(alpha: float = 0.05) -> str:
    """``95% credible interval`` / ``95% 可信区间``."""
    return t("terms.credible_interval", level=f"{(1 - alpha) * 100:g}")


def verdict(e: Effect) -> str:
    """One phrase: a credible increase or decrease when the interval excludes zero, else
    inconclusive: the data cannot tell."""
    if not e.significant:
        return t("terms.inconclusive")
    return t("impact.verdict." + ("up" if e.estimate > 0 else "down"))


def level_prior_bf(model: ModelInfo) -> str | None:
    """The Bayes factor for R's wider level prior, when the default was used and the pre-period
    favours the wider one strongly (over 20 to 1), as text; else None."""
    lbf = model.level_prior_log_bf
    if lbf is None or model.prior_level_sd != R_LEVEL_SDS[0] or lbf <= STRONG_EVIDENCE:
        return None
    return "1,000+" if lbf > np.log(1000) else fmt(float(np.exp(lbf)), "count")


def paragraphs(
    e: Effect,
    model: ModelInfo,
    *,
    name: str,
    intervention: str,
    controls: list[str],
    unit: Unit = "point",
    kind: Kind = "ratio",
    alpha: float = 0.05,
    placebo: Placebo | None = None,
    event: Event = "intervention",
) -> list[str]:
    """The plain-language report: averages, sums and relative effect, the verdict with the
    probability of a causal effect, the assumptions and what would break them, the level-prior
    check and the placebo check. Every number comes from ``e``."""
    ev = t(f"impact.event.{event}")
    ci = ci_words(alpha)
    av = e.average
    per = t(f"impact.unit.{unit}.per")
    many = t(f"impact.unit.{unit}.{'one' if e.points == 1 else 'many'}")
    f = lambda v: num(v, kind)  # noqa: E731
    up = e.estimate > 0
    out = [
        t(
            "impact.para.average",
            points=fmt(e.points, "count"),
            unit_many=many,
            event=ev,
            name=name,
            actual=f(av.actual),
            per=per,
            predicted=f(av.predicted),
            ci=ci,
            pred_lo=f(av.predicted_lo),
            pred_hi=f(av.predicted_hi),
            effect=f(av.estimate),
            lo=f(av.ci_low),
            hi=f(av.ci_high),
        ),
        t(
            "impact.para.cumulative",
            event=ev,
            name=name,
            actual=f(e.actual),
            predicted=f(e.predicted),
            pred_lo=f(e.predicted_lo),
            pred_hi=f(e.predicted_hi),
            effect=f(e.estimate),
            ci=ci,
            lo=f(e.ci_low),
            hi=f(e.ci_high),
            relative=fmt(e.relative, "signed_pct"),
            rel_lo=fmt(e.relative_lo, "signed_pct"),
            rel_hi=fmt(e.relative_hi, "signed_pct"),
        ),
        t(
            "impact.para." + ("credible" if e.significant else "inconclusive"),
            verdict=verdict(e),
            prob=fmt(e.posterior_prob_causal_effect, "pct"),
            ci=ci,
            direction=t("impact.direction." + ("up" if up else "down")),
            **({"side": t("impact.side." + ("up" if up else "down"))} if e.significant else {}),
        ),
    ]
    if controls:
        out.append(
            t(
                "impact.para.controls",
                controls=t("impact.list_sep").join(controls),
                event=ev,
                name=name,
                intervention=intervention,
            )
        )
    else:
        out.append(
            t(
                "impact.para.no_controls",
                name=name,
                pattern=t("impact.pattern." + ("seasonal" if model.seasonal else "level")),
                intervention=intervention,
                event=ev,
            )
        )
    bf = level_prior_bf(model)
    if bf:
        out.append(t("impact.para.level_prior", bf=bf))
    if placebo is not None:
        out.append(placebo_text(placebo, kind))
    if model.pre_period_constant:
        out.append(t("impact.para.constant", name=name, event=ev))
    return out


def placebo_text(p: Placebo, kind: Kind = "ratio") -> str:
    """The placebo check in one sentence."""
    date = str(p.fake_date)[:10]
    if p.effect is None:
        return t("impact.para.placebo_unavailable", date=date)
    return t(
        "impact.para.placebo",
        date=date,
        effect=num(p.effect.estimate, kind),
        lo=num(p.effect.ci_low, kind),
        hi=num(p.effect.ci_high, kind),
        outcome=t("impact.para." + ("placebo_ok" if p.covers_zero else "placebo_failed")),
    )


def probability_note(alpha: float = 0.05) -> str:
    """Why the probability of a causal effect is not a p-value, and why it can stand beside an
    interval that includes zero: the two-sided interval excludes zero only above 1 − alpha/2."""
    return t("impact.probability_note", ci=ci_words(alpha), threshold=fmt(1 - alpha / 2, "pct"))


def model_note(model: ModelInfo) -> str:
    """One sentence on the model behind the figures."""
    k = len(model.controls)
    return t(
        "impact.model_note",
        regression=t("impact.model_regression", k=k) if k else "",
        seasonal=t("impact.model_seasonal", season=model.seasonal) if model.seasonal else "",
        iterations=fmt(model.iterations, "count"),
        burn=fmt(model.burn, "count"),
    )


def summary_table(e: Effect, kind: Kind = "ratio", alpha: float = 0.05, unit: Unit = "point"):
    """R's summary table as text: rows actual, prediction, its interval, absolute effect, its
    interval, relative effect, its interval; columns average (per point) and cumulative."""
    ci = ci_words(alpha)
    av = e.average
    rel = fmt(e.relative, "signed_pct")
    rel_iv = interval(e.relative_lo, e.relative_hi, "signed_pct")
    rows = [
        (t("impact.table.actual"), num(av.actual, kind), num(e.actual, kind)),
        (t("impact.table.predicted"), num(av.predicted, kind), num(e.predicted, kind)),
        (
            ci,
            interval(av.predicted_lo, av.predicted_hi, kind),
            interval(e.predicted_lo, e.predicted_hi, kind),
        ),
        (t("impact.table.absolute"), num(av.estimate, kind), num(e.estimate, kind)),
        (ci, interval(av.ci_low, av.ci_high, kind), interval(e.ci_low, e.ci_high, kind)),
        (t("impact.table.relative"), rel, rel),
        (ci, rel_iv, rel_iv),
    ]
    return pd.DataFrame(rows, columns=["row", "average", "cumulative"])


def summary_labels(unit: Unit = "point") -> dict[str, str]:
    """Column labels of :func:`summary_table`."""
    return {
        "row": t("impact.table.row"),
        "average": t("impact.table.average", per=t(f"impact.unit.{unit}.per")),
        "cumulative": t("impact.table.cumulative"),
    }
