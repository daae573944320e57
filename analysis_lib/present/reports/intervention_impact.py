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
# a level series (a share price): its sum over periods means nothing, the average effect leads
HEADLINE_LEVEL = ["average_effect", "relative_effect", "posterior_prob_causal_effect"]
CARD_KINDS = {
    "cumulative_effect": "series",  # series_text: the series' own units, precision of its interval
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


def series_text(figure: dict) -> str:
    """A card's figure in the series' own units, with the decimals its interval needs
    (:func:`analysis_lib.present.narrative.impact.digits`): the card shows exactly this for the
    results.json figure ``{"estimate", "ci_low", "ci_high"}``."""
    d = NI.digits(figure["ci_low"], figure["ci_high"])
    return NI.num(figure["estimate"], places=d)


def _tone(c: N.Case) -> B.Tone:
    """Neutral when the interval includes zero or a model check failed (the effect is not
    established either way); else good for a rise, bad for a fall."""
    s = c.impact.summary
    if not s.significant or c.checks:
        return "neutral"
    return "good" if s.estimate > 0 else "bad"


def _note(*parts: str) -> str:
    return t("impact.clause_sep").join(p for p in parts if p)


def cards(c: N.Case) -> list[B.Card]:
    """Cumulative (a flow only), average and relative effect with their intervals, and the
    probability of a causal effect with the verdict. The tone says whether the effect is
    established (interval off zero, no failed check); whether a rise is good depends on the
    series, so up is shown as good (a series where lower is better reads the arrow, not the
    colour). A failed model check is written on the first card and on the probability's card,
    so the top of the report agrees with the action."""
    s, a = c.impact.summary, c.alpha
    av = s.average
    f = figures(c)
    vs = f"{fmt(s.relative, 'signed_pct')} {t('intervention_impact.card.vs_counterfactual')}"
    check = N.check_note(c)
    average = B.Card(
        t("intervention_impact.card.average_level")
        if c.level
        else t("intervention_impact.card.average", per=t(f"impact.unit.{c.unit}.per")),
        series_text(f["average_effect"]),
        _note(N.interval_note(av.ci_low, av.ci_high, "series", a), check if c.level else ""),
        vs if c.level else "",
        B.direction_of(av.estimate) if c.level else None,
        _tone(c) if c.level else "neutral",
        key="average_effect",
    )
    if c.level:
        first = [average]
    else:
        first = [
            B.Card(
                t("intervention_impact.card.cumulative"),
                series_text(f["cumulative_effect"]),
                _note(N.interval_note(s.ci_low, s.ci_high, "series", a), check),
                vs,
                B.direction_of(s.estimate),
                _tone(c),
                key="cumulative_effect",
            ),
            average,
        ]
    return [
        *first,
        B.Card(
            t("intervention_impact.card.relative"),
            fmt(s.relative, "signed_pct"),
            N.interval_note(s.relative_lo, s.relative_hi, "signed_pct", a),
            key="relative_effect",
        ),
        B.Card(
            t("intervention_impact.card.prob"),
            fmt(s.posterior_prob_causal_effect, "pct"),
            NI.verdict(s, bool(c.checks)),
            key="posterior_prob_causal_effect",
        ),
    ]


def summary(run: Run, c: N.Case) -> None:
    """Record the figures; show the title line, the cards, the findings and what to do."""
    B.record_figures(figures(c), headline=HEADLINE_LEVEL if c.level else HEADLINE)
    B.show(
        B.title_block(run.P.title_text, N.period(c), N.compared(c), c.last if c.dated else None),
        B.summary_block(cards(c), N.findings(c)),
        B.actions_block(N.actions(c)),
        index_verdict(c),
    )


def index_verdict(c: N.Case) -> B.HTML:
    """The index row's probability of a causal effect with the verdict the card gives under it
    ("99.9%; not established: a model check failed"): the probability alone read as established
    on the index while the report said not to act (issue 18 review). Nothing visible in the
    report; it only replaces what the index records for that card."""
    s, card = c.impact.summary, cards(c)[-1]
    return B.HTML(
        "",
        shown={
            card.key: {
                "label": card.label,
                "text": t("impact.clause_sep").join([card.value, NI.verdict(s, bool(c.checks))]),
            }
        },
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
        impact_chart(c.impact, name=c.name, kind="ratio", event="intervention", measure=c.measure),
        alt_text(c.impact, c.name, "intervention", c.measure),
    )
    B.show(
        B.section(
            t("intervention_impact.section.inference"),
            t(f"intervention_impact.section.inference_lead{'_level' if c.level else ''}"),
        ),
        table(N.summary_table(c), labels=NI.summary_labels(c.unit, c.measure)),
        B.paragraphs(N.paragraphs(c)[: NI.head(c.measure)]),
    )


def method(run: Run, c: N.Case) -> None:
    """Method and caveats."""
    B.show(B.method_block(N.method_notes(c)))
