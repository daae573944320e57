"""The sentences of the intervention impact report, from its typed result (an
:class:`analysis_lib.analyses.causal.Impact` and its :class:`~analysis_lib.analyses.causal.Placebo`):
the title line, card notes, findings, the action with its rule, method notes. The impact
paragraphs themselves are shared with the campaign report
(:mod:`analysis_lib.present.narrative.impact`); the words are in
``catalog/intervention_impact.yaml``.

What to do follows from whether the effect is established: the interval of the cumulative effect
on one side of zero with no check raising doubt (keep, or reverse a harmful change); on one side
but with a failed placebo, a strong case for R's wider level prior or a flat pre-period (check
first); across zero (do not decide: the data cannot tell). There is always one action.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from analysis_lib.analyses.causal import Impact, Placebo
from analysis_lib.present.blocks import Action
from analysis_lib.present.narrative import impact as NI
from analysis_lib.present.numbers import fmt
from analysis_lib.present.words import t


@dataclass(frozen=True)
class Case:
    """One intervention impact estimate with what the words need: the series' ``name``, the
    ``intervention`` as written in the params, the control series, the test level ``alpha``."""

    impact: Impact
    placebo: Placebo
    name: str
    intervention: str
    controls: list[str]
    alpha: float = 0.05

    @property
    def unit(self) -> NI.Unit:
        return NI.unit_of(self.impact.series.index)

    @property
    def dated(self) -> bool:
        return isinstance(self.impact.series.index, pd.DatetimeIndex)

    def _point(self, x) -> str:
        return str(pd.Timestamp(x).date()) if self.dated else fmt(x, "count")

    @property
    def first(self) -> str:
        """The first point of the series (a date, or a position)."""
        return self._point(self.impact.pre_fit.index[0])

    @property
    def last(self) -> str:
        """The last point of the series."""
        return self._point(self.impact.series.index[-1])


def paragraphs(c: Case) -> list[str]:
    """The impact paragraphs (:func:`analysis_lib.present.narrative.impact.paragraphs`)."""
    return NI.paragraphs(
        c.impact.summary,
        c.impact.model,
        name=c.name,
        intervention=c.intervention,
        controls=c.controls,
        unit=c.unit,
        kind="ratio",
        alpha=c.alpha,
        placebo=c.placebo,
        event="intervention",
    )


def period(c: Case) -> str:
    return t(
        "intervention_impact.title_period",
        name=c.name,
        intervention=c.intervention,
        first=c.first,
        last=c.last,
    )


def compared(c: Case) -> str:
    return t("intervention_impact.compared", intervention=c.intervention)


def interval_note(lo: float, hi: float, kind: str, alpha: float) -> str:
    f = (lambda v: fmt(v, "signed_pct")) if kind == "signed_pct" else NI.num
    return t("intervention_impact.card.interval", ci=NI.ci_words(alpha), lo=f(lo), hi=f(hi))


def doubts(c: Case) -> list[str]:
    """Why the estimate cannot be taken at face value, each as a phrase (none: no doubt)."""
    out = []
    if c.placebo.covers_zero is False:
        out.append(t("intervention_impact.action.why_placebo", date=str(c.placebo.fake_date)[:10]))
    bf = NI.level_prior_bf(c.impact.model)
    if bf:
        out.append(t("intervention_impact.action.why_level", bf=bf))
    if c.impact.model.pre_period_constant:
        out.append(t("intervention_impact.action.why_constant"))
    return out


def findings(c: Case) -> list[str]:
    """What happened (the cumulative effect against the counterfactual), what it means (the
    verdict with the probability of a causal effect), and the checks that temper it."""
    p = paragraphs(c)
    out = [p[1], p[2]]
    bf = NI.level_prior_bf(c.impact.model)
    if bf:
        out.append(t("impact.para.level_prior", bf=bf))
    if c.placebo.covers_zero is False:
        out.append(NI.placebo_text(c.placebo))
    if c.impact.model.pre_period_constant:
        out.append(t("impact.para.constant", name=c.name, event=t("impact.event.intervention")))
    return out


def actions(c: Case) -> list[Action]:
    """One action: keep, reverse, check first, or wait (see the module docstring)."""
    e, ci = c.impact.summary, NI.ci_words(c.alpha)
    unit = t(f"impact.unit.{c.unit}.{'one' if e.points == 1 else 'many'}")
    words = {
        "name": c.name,
        "effect": NI.num(abs(e.estimate)),
        "points": fmt(e.points, "count"),
        "unit": unit,
        "ci": ci,
        "lo": NI.num(e.ci_low),
        "hi": NI.num(e.ci_high),
    }
    if not e.significant:
        return [
            Action(
                t("intervention_impact.action.wait", name=c.name),
                t("intervention_impact.action.wait_rule", ci=ci),
            )
        ]
    why = doubts(c)
    if why:
        direction = t("impact.direction." + ("up" if e.estimate > 0 else "down"))
        return [
            Action(
                t(
                    "intervention_impact.action.check",
                    direction=direction,
                    why=t("impact.clause_sep").join(why),
                ),
                t("intervention_impact.action.check_rule", ci=ci),
            )
        ]
    key = "keep" if e.estimate > 0 else "reverse"
    return [
        Action(
            t(f"intervention_impact.action.{key}", **words),
            t(f"intervention_impact.action.{key}_rule", ci=ci),
        )
    ]


def method_notes(c: Case) -> list[str]:
    """The model, the probability's meaning, the assumptions and the checks."""
    p = paragraphs(c)
    return [NI.model_note(c.impact.model), NI.probability_note(c.alpha), *p[3:]]


def summary_table(c: Case) -> pd.DataFrame:
    return NI.summary_table(c.impact.summary, "ratio", c.alpha, c.unit)
