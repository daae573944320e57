"""The sections of the intervention impact report, one call each from the notebook: the summary
(title line, four cards, findings, what to do; the figures recorded for results.json from the same
objects), the counterfactual chart, R's inference table, method. Sentences come from
:mod:`analysis_lib.present.narrative.intervention_impact`; :data:`CARD_KINDS` says how each card
formats its results.json figure (a test checks the rendered cards against it)."""

from __future__ import annotations

from analysis_lib.present import blocks as B
from analysis_lib.present.bootstrap import Run
from analysis_lib.present.charts.impact import alt_text, impact_chart
from analysis_lib.present.narrative import impact as NI
from analysis_lib.present.narrative import intervention_impact as N
from analysis_lib.present.numbers import fmt
from analysis_lib.present.tables import table
from analysis_lib.present.words import t

HEADLINE = ["cumulative_effect", "relative_effect", "posterior_prob_causal_effect"]
CARD_KINDS = {
    "cumulative_effect": "series",  # NI.num: the series' own units
    "average_effect": "series",
    "relative_effect": "signed_pct",
    "posterior_prob_causal_effect": "pct",
}


def figures(c: N.Case) -> dict:
    """The run's figures for results.json (keys as before issue 16)."""
    s = c.impact.summary
    av = s.average
    return {
        "cumulative_effect": s.interval(),
        "average_effect": {"estimate": av.estimate, "ci_low": av.ci_low, "ci_high": av.ci_high},
        "relative_effect": s.relative,
        "relative_ci": [s.relative_lo, s.relative_hi],
        "posterior_prob_causal_effect": s.posterior_prob_causal_effect,
        "tail_probability": s.tail_probability,
        "significant": s.significant,
        "placebo": c.placebo.figures(),
    }


def _tone(s) -> B.Tone:
    if not s.significant:
        return "neutral"
    return "good" if s.estimate > 0 else "bad"


def cards(c: N.Case) -> list[B.Card]:
    """Cumulative, average and relative effect with their intervals, and the probability of a
    causal effect with the verdict. The tone says whether the interval excludes zero; whether a
    rise is good depends on the series, so up is shown as good (a series where lower is better
    reads the arrow, not the colour)."""
    s, a = c.impact.summary, c.alpha
    av = s.average
    vs = t("intervention_impact.card.vs_counterfactual")
    return [
        B.Card(
            t("intervention_impact.card.cumulative"),
            NI.num(s.estimate),
            N.interval_note(s.ci_low, s.ci_high, "series", a),
            f"{fmt(s.relative, 'signed_pct')} {vs}",
            B.direction_of(s.estimate),
            _tone(s),
            key="cumulative_effect",
        ),
        B.Card(
            t("intervention_impact.card.average", per=t(f"impact.unit.{c.unit}.per")),
            NI.num(av.estimate),
            N.interval_note(av.ci_low, av.ci_high, "series", a),
            key="average_effect",
        ),
        B.Card(
            t("intervention_impact.card.relative"),
            fmt(s.relative, "signed_pct"),
            N.interval_note(s.relative_lo, s.relative_hi, "signed_pct", a),
            key="relative_effect",
        ),
        B.Card(
            t("intervention_impact.card.prob"),
            fmt(s.posterior_prob_causal_effect, "pct"),
            NI.verdict(s),
            key="posterior_prob_causal_effect",
        ),
    ]


def summary(run: Run, c: N.Case) -> None:
    """Record the figures; show the title line, the cards, the findings and what to do."""
    B.record_figures(figures(c), headline=HEADLINE)
    B.show(
        B.title_block(run.P.title, N.period(c), N.compared(c), c.last if c.dated else None),
        B.summary_block(cards(c), N.findings(c)),
        B.actions_block(N.actions(c)),
    )


def counterfactual(run: Run, c: N.Case) -> None:
    """The chart with the fit over the pre-period, then R's inference table and paragraphs."""
    B.show(
        B.section(
            t("intervention_impact.section.counterfactual"),
            t("intervention_impact.section.counterfactual_lead"),
        )
    )
    B.figure(
        impact_chart(c.impact, name=c.name, kind="ratio", event="intervention"),
        alt_text(c.impact, c.name, "intervention"),
    )
    B.show(
        B.section(
            t("intervention_impact.section.inference"),
            t("intervention_impact.section.inference_lead"),
        ),
        table(N.summary_table(c), labels=NI.summary_labels(c.unit)),
        B.paragraphs(N.paragraphs(c)[:3]),
    )


def method(run: Run, c: N.Case) -> None:
    """Method and caveats."""
    B.show(B.method_block(N.method_notes(c)))
