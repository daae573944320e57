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

import math
from typing import Literal

import numpy as np
import pandas as pd
from babel import numbers as babel_numbers

from analysis_lib.analyses.causal import R_LEVEL_SDS, STRONG_EVIDENCE, Effect, ModelInfo, Placebo
from analysis_lib.present.context import settings
from analysis_lib.present.numbers import LOCALES, MINUS, fmt, missing
from analysis_lib.present.words import t

Unit = Literal["day", "week", "month", "point"]
Event = Literal["intervention", "campaign"]
Kind = Literal["money", "ratio"]  # money: the shop's currency; ratio: the series' own units
# flow: a quantity per period (sales, visits) whose sum means something; level: a state (a price,
# an index) whose sum over periods means nothing, so only its average effect is reported
Measure = Literal["flow", "level"]
Check = Literal["placebo", "level_prior", "constant"]  # a model check that failed


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


def digits(lo: float | None, hi: float | None) -> int | None:
    """Decimals for a figure and its interval: enough to show the interval's width with two
    significant digits (width 1.2 -> one decimal, 17 -> none), so a prediction of 120.2
    (119.6 … 120.8) beside an actual of 121.1 shows that the interval excludes the actual, and an
    interval never mixes precisions (4 … 816, not 4.37 … 816). None when there is no width."""
    if lo is None or hi is None or missing(lo) or missing(hi) or hi <= lo:
        return None
    return int(min(4, max(0, 1 - math.floor(math.log10(hi - lo)))))


def num(value: float, kind: Kind = "ratio", places: int | None = None) -> str:
    """A figure of the series: money in the shop's currency; a series in its own units with
    ``places`` decimals (:func:`digits` of its interval), or without an interval two decimals
    below 100 and none from 100 (an effect of 1,414,339.50 reads as 1,414,340)."""
    if kind == "money":
        return fmt(value, "money")
    if places is not None and not missing(value):
        if places == 0:
            return fmt(value, "count")
        loc = LOCALES[settings().lang]
        text = babel_numbers.format_decimal(float(value), "#,##0." + "0" * places, locale=loc)
        return text.replace("-", MINUS)
    if value is not None and abs(value) >= 100:
        return fmt(value, "count")
    return fmt(value, "ratio")


def interval(
    lo: float,
    hi: float,
    kind: Kind | Literal["signed_pct"] = "ratio",
    places: int | None = None,
) -> str:
    """``lo … hi``."""
    if kind == "signed_pct":
        return f"{fmt(lo, 'signed_pct')} … {fmt(hi, 'signed_pct')}"
    return f"{num(lo, kind, places)} … {num(hi, kind, places)}"


def ci_words(alpha: float = 0.05) -> str:
    """``95% credible interval`` / ``95% 可信区间``."""
    return t("terms.credible_interval", level=f"{(1 - alpha) * 100:g}")


def failed_checks(model: ModelInfo, placebo: Placebo | None) -> list[Check]:
    """The model checks that failed: a placebo interval that excludes zero, a strong case for
    R's wider level prior, a flat pre-period. Any of them means the verdict cannot be taken at
    face value, so the cards and the first finding must say so (the action already does)."""
    out: list[Check] = []
    if placebo is not None and placebo.covers_zero is False:
        out.append("placebo")
    if level_prior_bf(model):
        out.append("level_prior")
    if model.pre_period_constant:
        out.append("constant")
    return out


def point_at(x) -> str:
    """The placebo's fake start as a reader reads it: a date, or a position in an undated series
    (``point 46``, never called a date)."""
    text = str(x)
    try:
        return t("impact.point_at", n=fmt(int(float(text)), "count"))
    except ValueError:
        return text[:10]


def checks_lead(model: ModelInfo, placebo: Placebo | None, event: Event) -> str | None:
    """The sentence that leads the findings when a model check failed (None when none did)."""
    checks = failed_checks(model, placebo)
    if not checks:
        return None
    ev = t(f"impact.event.{event}")
    words = {
        "placebo": lambda: t("impact.check.placebo", date=point_at(placebo.fake_date), event=ev),
        "level_prior": lambda: t("impact.check.level_prior", bf=level_prior_bf(model)),
        "constant": lambda: t("impact.check.constant", event=ev),
    }
    why = t("impact.clause_sep").join(words[c]() for c in checks)
    return t("impact.para.check_lead", why=why)


def verdict(e: Effect, doubted: bool = False) -> str:
    """One phrase: a credible increase or decrease when the interval excludes zero and no model
    check failed; not established when one failed; else inconclusive: the data cannot tell."""
    if not e.significant:
        return t("terms.inconclusive")
    if doubted:
        return t("impact.verdict.doubted")
    return t("impact.verdict." + ("up" if e.estimate > 0 else "down"))


def level_prior_bf(model: ModelInfo) -> str | None:
    """The Bayes factor for R's wider level prior, when the default was used and the pre-period
    favours the wider one strongly (over 20 to 1), as text; else None."""
    lbf = model.level_prior_log_bf
    if lbf is None or model.prior_level_sd != R_LEVEL_SDS[0] or lbf <= STRONG_EVIDENCE:
        return None
    return "1,000+" if lbf > np.log(1000) else fmt(float(np.exp(lbf)), "count")


def places(e: Effect, scale: Literal["average", "cumulative"]) -> int | None:
    """Decimals for one column of figures (the per-point averages, or the sums): from the
    narrower of the prediction's and the effect's intervals, so actual, prediction and effect of
    that column share one precision."""
    x = e.average if scale == "average" else e
    got = [digits(x.predicted_lo, x.predicted_hi), digits(x.ci_low, x.ci_high)]
    known = [d for d in got if d is not None]
    return max(known) if known else None


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
    measure: Measure = "flow",
) -> list[str]:
    """The plain-language report: the effect paragraphs (for a flow: the averages per point, then
    the sums and relative effect; for a level: the average effect only, no sums and no "per"),
    the verdict with the probability of a causal effect, then the assumptions and what would
    break them, the level-prior check and the placebo check. Every number comes from ``e``;
    :func:`head` says how many of the paragraphs are the effect and the verdict."""
    ev = t(f"impact.event.{event}")
    ci = ci_words(alpha)
    av = e.average
    per = t(f"impact.unit.{unit}.per")
    many = t(f"impact.unit.{unit}.{'one' if e.points == 1 else 'many'}")
    pa, pc = places(e, "average"), places(e, "cumulative")
    fa = lambda v: num(v, kind, pa)  # noqa: E731
    fc = lambda v: num(v, kind, pc)  # noqa: E731
    up = e.estimate > 0
    level = measure == "level"
    rel = {
        "relative": fmt(e.relative, "signed_pct"),
        "rel_lo": fmt(e.relative_lo, "signed_pct"),
        "rel_hi": fmt(e.relative_hi, "signed_pct"),
    }
    average = {
        "points": fmt(e.points, "count"),
        "unit_many": many,
        "event": ev,
        "name": name,
        "actual": fa(av.actual),
        "predicted": fa(av.predicted),
        "ci": ci,
        "pred_lo": fa(av.predicted_lo),
        "pred_hi": fa(av.predicted_hi),
        "effect": fa(av.estimate),
        "lo": fa(av.ci_low),
        "hi": fa(av.ci_high),
    }
    if level:
        out = [t("impact.para.average_level", **average, **rel)]
    else:
        out = [
            t("impact.para.average", **average, per=per),
            t(
                "impact.para.cumulative",
                event=ev,
                name=name,
                actual=fc(e.actual),
                predicted=fc(e.predicted),
                pred_lo=fc(e.predicted_lo),
                pred_hi=fc(e.predicted_hi),
                effect=fc(e.estimate),
                ci=ci,
                lo=fc(e.ci_low),
                hi=fc(e.ci_high),
                **rel,
            ),
        ]
    doubted = bool(failed_checks(model, placebo))
    key = "inconclusive" if not e.significant else "credible_doubted" if doubted else "credible"
    out.append(
        t(
            "impact.para." + key,
            verdict=verdict(e, doubted),
            prob=fmt(e.posterior_prob_causal_effect, "pct"),
            ci=ci,
            measure=t(f"impact.measure.{'average' if level else 'cumulative'}"),
            direction=t("impact.direction." + ("up" if up else "down")),
            **({"side": t("impact.side." + ("up" if up else "down"))} if e.significant else {}),
            **({"event": ev} if key == "credible_doubted" else {}),
        )
    )
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
        out.append(placebo_text(placebo, kind, measure))
    if model.pre_period_constant:
        out.append(t("impact.para.constant", name=name, event=ev))
    return out


def head(measure: Measure = "flow") -> int:
    """How many of :func:`paragraphs` are the effect and the verdict (the rest: assumptions and
    checks): average, cumulative and verdict for a flow; average and verdict for a level."""
    return 2 if measure == "level" else 3


def placebo_text(p: Placebo, kind: Kind = "ratio", measure: Measure = "flow") -> str:
    """The placebo check in one sentence: its cumulative effect (its average for a level
    series), with the precision of its own interval."""
    date = point_at(p.fake_date)
    if p.effect is None:
        return t("impact.para.placebo_unavailable", date=date)
    x = p.effect.average if measure == "level" else p.effect
    d = digits(x.ci_low, x.ci_high)
    return t(
        "impact.para.placebo",
        date=date,
        what=t(f"impact.measure_a.{'average' if measure == 'level' else 'cumulative'}"),
        effect=num(x.estimate, kind, d),
        lo=num(x.ci_low, kind, d),
        hi=num(x.ci_high, kind, d),
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


def summary_table(
    e: Effect,
    kind: Kind = "ratio",
    alpha: float = 0.05,
    unit: Unit = "point",
    measure: Measure = "flow",
):
    """R's summary table as text: rows actual, prediction, its interval, absolute effect, its
    interval, relative effect, its interval; columns average (per point) and cumulative (a level
    series: the average only, since its sum means nothing). Each column has one precision
    (:func:`places`)."""
    ci = ci_words(alpha)
    av = e.average
    pa, pc = places(e, "average"), places(e, "cumulative")
    rel = fmt(e.relative, "signed_pct")
    rel_iv = interval(e.relative_lo, e.relative_hi, "signed_pct")
    rows = [
        (t("impact.table.actual"), num(av.actual, kind, pa), num(e.actual, kind, pc)),
        (t("impact.table.predicted"), num(av.predicted, kind, pa), num(e.predicted, kind, pc)),
        (
            ci,
            interval(av.predicted_lo, av.predicted_hi, kind, pa),
            interval(e.predicted_lo, e.predicted_hi, kind, pc),
        ),
        (t("impact.table.absolute"), num(av.estimate, kind, pa), num(e.estimate, kind, pc)),
        (
            ci,
            interval(av.ci_low, av.ci_high, kind, pa),
            interval(e.ci_low, e.ci_high, kind, pc),
        ),
        (t("impact.table.relative"), rel, rel),
        (ci, rel_iv, rel_iv),
    ]
    df = pd.DataFrame(rows, columns=["row", "average", "cumulative"])
    return df[["row", "average"]] if measure == "level" else df


def summary_labels(unit: Unit = "point", measure: Measure = "flow") -> dict[str, str]:
    """Column labels of :func:`summary_table`."""
    if measure == "level":
        return {"row": t("impact.table.row"), "average": t("impact.table.average_level")}
    return {
        "row": t("impact.table.row"),
        "average": t("impact.table.average", per=t(f"impact.unit.{unit}.per")),
        "cumulative": t("impact.table.cumulative"),
    }
