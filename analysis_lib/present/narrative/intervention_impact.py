"""The sentences of the intervention impact report, from its typed result (an
:class:`analysis_lib.analyses.causal.Impact` and its :class:`~analysis_lib.analyses.causal.Placebo`):
the title line, card notes, findings, the action with its rule, method notes. The impact
paragraphs themselves are shared with the campaign report
(:mod:`analysis_lib.present.narrative.impact`); the words are in
``catalog/intervention_impact.yaml``.

What to do follows from whether the effect is established: the interval of the effect on one side
of zero with no check raising doubt (keep, or reverse a harmful change); on one side but with a
failed placebo, a strong case for R's wider level prior or a flat pre-period (check first);
across zero (do not decide: the data cannot tell). There is always one action. When a check
failed, the findings lead with it and the cards say so, so the top of the report agrees with
the action.

A flow series (sales per day) is judged on its cumulative effect; a level series (a share price)
on its average effect, since its sum over periods means nothing (``series.kind`` in the params).
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
    ``intervention`` as written in the params, the control series, the test level ``alpha``,
    and whether the series is a flow or a level (``measure``)."""

    impact: Impact
    placebo: Placebo
    name: str
    intervention: str
    controls: list[str]
    alpha: float = 0.05
    measure: NI.Measure = "flow"

    @property
    def unit(self) -> NI.Unit:
        return NI.unit_of(self.impact.series.index)

    @property
    def level(self) -> bool:
        return self.measure == "level"

    @property
    def dated(self) -> bool:
        return isinstance(self.impact.series.index, pd.DatetimeIndex)

    @property
    def checks(self) -> list[NI.Check]:
        """The model checks that failed (none: the estimate can be taken at face value)."""
        return NI.failed_checks(self.impact.model, self.placebo)

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


def judged(c: Case):
    """The figure the verdict is read from: the cumulative effect of a flow, the average effect
    of a level (same sign and same interval relative to zero)."""
    return c.impact.summary.average if c.level else c.impact.summary


def paragraphs(c: Case) -> list[str]:
    """The impact paragraphs (:func:`analysis_lib.present.narrative.impact.paragraphs`)."""
    return NI.paragraphs(
        c.impact.summary,
        c.impact.model,
        name=c.name,
        intervention=NI.point_at(c.intervention),
        controls=c.controls,
        unit=c.unit,
        kind="ratio",
        alpha=c.alpha,
        placebo=c.placebo,
        event="intervention",
        measure=c.measure,
    )


def period(c: Case) -> str:
    """The title line's series and span: its dates, or for a series without dates its points by
    position and how many (never "series 0 – 99", which reads as a range of values)."""
    key, extra = "intervention_impact.title_period", {}
    if not c.dated:
        key += "_points"
        extra["n"] = fmt(len(c.impact.pre_fit) + len(c.impact.series), "count")
    return t(
        key,
        name=c.name,
        intervention=NI.point_at(c.intervention),
        first=c.first,
        last=c.last,
        **extra,
    )


def compared(c: Case) -> str:
    return t("intervention_impact.compared", intervention=NI.point_at(c.intervention))


def interval_note(lo: float, hi: float, kind: str, alpha: float) -> str:
    if kind == "signed_pct":
        lo_s, hi_s = fmt(lo, "signed_pct"), fmt(hi, "signed_pct")
    else:
        d = NI.digits(lo, hi)
        lo_s, hi_s = NI.num(lo, places=d), NI.num(hi, places=d)
    return t("intervention_impact.card.interval", ci=NI.ci_words(alpha), lo=lo_s, hi=hi_s)


def check_note(c: Case) -> str:
    """A card's note when a model check failed (empty when none did)."""
    return t("impact.check_note") if c.checks else ""


def doubts(c: Case) -> list[str]:
    """Why the estimate cannot be taken at face value, each as a phrase (none: no doubt)."""
    out = []
    if c.placebo.covers_zero is False:
        out.append(
            t("intervention_impact.action.why_placebo", date=NI.point_at(c.placebo.fake_date))
        )
    bf = NI.level_prior_bf(c.impact.model)
    if bf:
        out.append(t("intervention_impact.action.why_level", bf=bf))
    if c.impact.model.pre_period_constant:
        out.append(t("intervention_impact.action.why_constant"))
    return out


def findings(c: Case) -> list[str]:
    """A failed model check first (so the top agrees with the action), then what happened (the
    effect against the counterfactual: cumulative for a flow, average for a level), what it
    means (the verdict with the probability of a causal effect), and the checks in detail."""
    p = paragraphs(c)
    lead = NI.checks_lead(c.impact.model, c.placebo, "intervention")
    n = NI.head(c.measure)
    out = ([lead] if lead else []) + p[n - 2 : n]
    bf = NI.level_prior_bf(c.impact.model)
    if bf:
        out.append(t("impact.para.level_prior", bf=bf))
    if c.placebo.covers_zero is False:
        out.append(NI.placebo_text(c.placebo, "ratio", c.measure))
    if c.impact.model.pre_period_constant:
        out.append(t("impact.para.constant", name=c.name, event=t("impact.event.intervention")))
    return out


def actions(c: Case) -> list[Action]:
    """One action: keep, reverse, check first, or wait (see the module docstring)."""
    s, ci = c.impact.summary, NI.ci_words(c.alpha)
    e = judged(c)
    unit = t(f"impact.unit.{c.unit}.{'one' if s.points == 1 else 'many'}")
    d = NI.digits(e.ci_low, e.ci_high)
    measure = t(f"intervention_impact.action.measure.{'average' if c.level else 'cumulative'}")
    words = {
        "name": c.name,
        "effect": NI.num(abs(e.estimate), places=d),
        "points": fmt(s.points, "count"),
        "unit": unit,
        "ci": ci,
        "lo": NI.num(e.ci_low, places=d),
        "hi": NI.num(e.ci_high, places=d),
    }
    if not s.significant:
        return [
            Action(
                t("intervention_impact.action.wait", name=c.name),
                t("intervention_impact.action.wait_rule", ci=ci, measure=measure),
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
                t("intervention_impact.action.check_rule", ci=ci, measure=measure),
            )
        ]
    key = ("keep" if e.estimate > 0 else "reverse") + ("_level" if c.level else "")
    rule = "keep_rule" if e.estimate > 0 else "reverse_rule"
    return [
        Action(
            t(f"intervention_impact.action.{key}", **words),
            t(f"intervention_impact.action.{rule}", ci=ci, measure=measure),
        )
    ]


def method_notes(c: Case) -> list[str]:
    """The model, the probability's meaning, what a level series reports, the assumptions and
    the checks."""
    p = paragraphs(c)
    notes = [NI.model_note(c.impact.model), NI.probability_note(c.alpha)]
    if c.level:
        notes.append(t("intervention_impact.level_note", name=c.name))
    return notes + p[NI.head(c.measure) :]


def summary_table(c: Case) -> pd.DataFrame:
    return NI.summary_table(c.impact.summary, "ratio", c.alpha, c.unit, c.measure)
