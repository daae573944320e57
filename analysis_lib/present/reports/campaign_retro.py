"""The sections of the campaign retrospective report, one call each from the notebook: the
summary (title line, five cards, findings, what to do; the figures recorded for results.json
from the same objects), the counterfactual, channels, categories, funnel, lessons, earlier
campaigns, method. Sentences come from :mod:`analysis_lib.present.narrative.campaign_retro`.

Each headline figure is computed once (:class:`analysis_lib.analyses.campaign.Retro`) and the
card, findings, tables and results.json all show that value; :data:`CARD_KINDS` says how each card
formats its figure, so a test can check the rendered card against results.json.
"""

from __future__ import annotations

import pandas as pd

from analysis_lib.analyses import campaign as CA
from analysis_lib.present import blocks as B
from analysis_lib.present.bootstrap import Run
from analysis_lib.present.charts.impact import alt_text, impact_chart
from analysis_lib.present.narrative import campaign_retro as N
from analysis_lib.present.narrative import impact as NI
from analysis_lib.present.numbers import fmt
from analysis_lib.present.tables import table
from analysis_lib.present.words import t, value

HEADLINE = [
    "target_achievement",
    "net_incremental_gmv",
    "roi",
    "posterior_prob_causal_effect",
    "post_dip_gmv",
]
# how each card shows its results.json figure (the estimate of an interval)
CARD_KINDS = {
    "target_achievement": "pct",
    "net_incremental_gmv": "money_compact",
    "roi": "signed_pct",
    "posterior_prob_causal_effect": "pct",
    "post_dip_gmv": "signed_money",
}


def _col(name: str) -> str:
    return t(f"campaign_retro.column.{name}")


def _labels(cols: list[str]) -> dict[str, str]:
    return {c: _col(c) for c in cols}


def figures(r: CA.Retro) -> dict:
    """The run's figures for results.json (keys as before issue 16; ``roi`` now on the stated
    base: all net incremental GMV against all spend)."""
    ph, o = r.phases, r.observed
    post = ph.get("post")
    return {
        "target_achievement": o.target_achievement,
        "incremental_gmv": ph["campaign"].interval(),
        "net_incremental_gmv": r.net.interval(),
        "post_dip_gmv": post.estimate if post is not None else None,
        "phases": {p: e.interval() for p, e in ph.items()},
        "roi": r.roi.total.interval() if r.roi.total is not None else None,
        "posterior_prob_causal_effect": r.net.posterior_prob_causal_effect,
        "tail_probability": r.net.tail_probability,
        "placebo": r.placebo.figures(),
        "new_customers": o.new_customers,
        "cac": o.cac,
    }


def _value(v: float | None, kind: str, none: str) -> str:
    """A card's figure; where there is none (no spend, no target, no post window), a short word
    saying so instead of n/a (the card's note gives the reason)."""
    return t(f"campaign_retro.card.{none}") if v is None else fmt(v, kind)


def _tone(v: CA.Verdict) -> B.Tone:
    return {"worked": "good", "did_not_work": "bad", "inconclusive": "neutral"}[v]


def cards(r: CA.Retro) -> list[B.Card]:
    """Five cards, one per headline figure of results.json."""
    o, n, roi = r.observed, r.net, r.roi.total
    post = r.phases.get("post")
    gap = o.target_achievement - 1 if o.target_achievement is not None else None
    k = CARD_KINDS
    return [
        B.Card(
            t("campaign_retro.card.target_achievement"),
            _value(o.target_achievement, k["target_achievement"], "none_target"),
            N.target_note(r),
            f"{fmt(gap, 'signed_pct')} {t('campaign_retro.card.vs_target')}"
            if gap is not None
            else "",
            B.direction_of(gap),
            B.tone_of(gap, True),
            key="target_achievement",
        ),
        B.Card(
            t("campaign_retro.card.net"),
            fmt(n.estimate, k["net_incremental_gmv"]),
            t("impact.clause_sep").join(
                [N.net_note(r)] + ([t("impact.check_note")] if N.doubted(r) else [])
            ),
            f"{fmt(n.relative, 'signed_pct')} {t('campaign_retro.card.vs_counterfactual')}",
            B.direction_of(n.estimate),
            "neutral" if N.doubted(r) else _tone(CA.verdict(n.ci_low, n.ci_high)),
            key="net_incremental_gmv",
        ),
        B.Card(
            t("campaign_retro.card.roi"),
            _value(roi.estimate if roi else None, k["roi"], "none_spend"),
            N.roi_note(r),
            N.roi_interval(r),
            None,
            _tone(CA.verdict(roi.ci_low, roi.ci_high)) if roi else "neutral",
            key="roi",
        ),
        B.Card(
            t("campaign_retro.card.prob"),
            fmt(n.posterior_prob_causal_effect, k["posterior_prob_causal_effect"]),
            N.prob_note(r),
            key="posterior_prob_causal_effect",
        ),
        B.Card(
            t("campaign_retro.card.post"),
            _value(post.estimate if post else None, k["post_dip_gmv"], "none_post"),
            N.post_note(r),
            "",
            None,
            _tone(CA.verdict(post.ci_low, post.ci_high)) if post else "neutral",
            key="post_dip_gmv",
        ),
    ]


def summary(run: Run, r: CA.Retro) -> None:
    """Record the figures; show the title line, the cards, the findings and what to do."""
    B.record_figures(figures(r), headline=HEADLINE)
    B.show(
        B.title_block(run.P.title_text, N.period(r), N.compared(r), run.last_day),
        B.summary_block(cards(r), N.findings(r)),
        B.actions_block(N.actions(r), N.no_action_reason(r)),
        index_verdict(r),
    )


def verdicts(r: CA.Retro) -> dict[str, str]:
    """The verdict each card gives beside its figure: the ROI's (paid for itself, did not, or
    inconclusive) and the post window's by their intervals, the probability's on net incremental
    GMV (not established when a model check failed)."""
    roi, post = r.roi.total, r.phases.get("post")
    out = {"posterior_prob_causal_effect": NI.verdict(r.net, N.doubted(r))}
    if roi is not None:
        out["roi"] = t("campaign_retro.card.roi_verdict." + CA.verdict(roi.ci_low, roi.ci_high))
    if post is not None:
        out["post_dip_gmv"] = N.post_verdict(r)
    return out


def index_verdict(r: CA.Retro) -> B.HTML:
    """The index row's ROI, probability of a causal effect and post-campaign dip, each with the
    verdict its card gives ("+43.3%; inconclusive: the data cannot tell"): a figure alone on the
    index read as established where the report says the data cannot tell (as
    :func:`analysis_lib.present.reports.intervention_impact.index_verdict`). Nothing visible in
    the report; it only replaces what the index records for those cards."""
    sep, found = t("impact.clause_sep"), verdicts(r)
    return B.HTML(
        "",
        shown={
            c.key: {"label": c.label, "text": sep.join([c.value, found[c.key]])}
            for c in cards(r)
            if c.key in found
        },
    )


def counterfactual(run: Run, r: CA.Retro) -> None:
    """The chart with the fit over the pre-period, the effect per phase, and R's inference table
    of the whole window."""
    B.show(
        B.section(
            t("campaign_retro.section.counterfactual"),
            t(
                "campaign_retro.section.counterfactual_lead",
                start=str(r.pre_start),
                end=str(r.camp.base_end),
            ),
        )
    )
    B.figure(
        impact_chart(r.impact, name="GMV", kind="money", event="campaign"),
        alt_text(r.impact, "GMV", "campaign"),
    )
    rows = pd.DataFrame(
        [
            {
                "phase": N.phase(p),
                "actual": e.actual,
                "predicted": e.predicted,
                "estimate": e.estimate,
                "ci_low": e.ci_low,
                "ci_high": e.ci_high,
                "prob": e.posterior_prob_causal_effect,
                "verdict": t("campaign_retro.effect_verdict." + CA.verdict(e.ci_low, e.ci_high)),
            }
            for p, e in r.phases.items()
        ]
    )
    money = {c: "money" for c in ["actual", "predicted", "ci_low", "ci_high"]}
    B.show(
        table(rows, money | {"estimate": "signed_money", "prob": "pct"}, _labels(list(rows))),
        B.section(
            t("campaign_retro.section.inference"), t("campaign_retro.section.inference_lead")
        ),
        table(
            NI.summary_table(r.net, "money", N.ALPHA, "day"),
            labels=NI.summary_labels("day"),
        ),
        B.paragraphs(N.paragraphs(r)[:3]),
    )


def channels(run: Run, r: CA.Retro) -> None:
    """Spend per channel and the channel-attributed ROI, then the channels without spend and the
    whole campaign (the summary's ROI)."""
    roi = r.roi.total
    if roi is None:
        return
    ch = r.roi.channels.copy()
    ch["channel"] = [value("channel", c) for c in ch["channel"]]
    extra = []
    if len(ch):
        extra.append(
            {
                "channel": t("campaign_retro.row.unpaid"),
                "spend": 0.0,
                "gmv_share": r.roi.unpaid_share,
                "incremental_gmv": N.unpaid_gmv(r),
            }
        )
    extra.append(
        {
            "channel": t("campaign_retro.row.total"),
            "spend": roi.spend,
            "gmv_share": 1.0,
            "incremental_gmv": roi.incremental_gmv,
            "roi": roi.estimate,
            "roi_lo": roi.ci_low,
            "roi_hi": roi.ci_high,
            "iroas": roi.iroas,
        }
    )
    cols = ["channel", "spend", "gmv_share", "incremental_gmv", "roi", "roi_lo", "roi_hi", "iroas"]
    df = pd.concat([ch[cols], pd.DataFrame(extra)], ignore_index=True)[cols]
    kinds = {"spend": "money", "gmv_share": "pct", "incremental_gmv": "money", "iroas": "ratio"}
    kinds |= {"roi": "signed_pct", "roi_lo": "signed_pct", "roi_hi": "signed_pct"}
    B.show(
        B.section(t("campaign_retro.section.channels"), t("campaign_retro.section.channels_lead")),
        table(df, kinds, _labels(cols)),
    )


def categories(run: Run, r: CA.Retro) -> None:
    """GMV by category against its run rate before pre-heat."""
    if not len(r.categories):
        return
    cols = ["category", "campaign_gmv", "extra_gmv", "share_of_extra"]
    B.show(
        B.section(
            t("campaign_retro.section.categories"), t("campaign_retro.section.categories_lead")
        ),
        table(
            r.categories[cols].assign(
                category=[value("category", c) for c in r.categories.category]
            ),
            {"campaign_gmv": "money", "extra_gmv": "signed_money", "share_of_extra": "pct"},
            _labels(cols),
        ),
    )


def funnel(run: Run, r: CA.Retro) -> None:
    """Step conversion in the burst against before pre-heat; or why it is not shown."""
    title = t("campaign_retro.section.funnel")
    if r.funnel is None:
        B.show(B.section(title, t("campaign_retro.section.funnel_none")))
        return
    f = r.funnel
    df = pd.DataFrame(
        {
            "step": [N.step(a, b) for a, b in zip(f["from_step"], f["step"], strict=True)],
            "current": f["current"],
            "previous": f["previous"],
            "change": f["change"],
            "relative_change": f["relative_change"],
            "p_value": f["p_value"],
            "verdict": [t(f"campaign_retro.verdict.{v}") for v in f["verdict"]],
        }
    )
    kinds = {"current": "pct", "previous": "pct", "change": "pp"}
    kinds |= {"relative_change": "signed_pct", "p_value": "p_value"}
    B.show(
        B.section(title, t("campaign_retro.section.funnel_lead")),
        table(df, kinds, _labels(list(df))),
    )


def lessons(run: Run, r: CA.Retro) -> None:
    """What worked, what did not, what the data cannot tell."""
    df = N.lessons(r)
    if not len(df):
        return
    B.show(
        B.section(t("campaign_retro.section.lessons"), t("campaign_retro.section.lessons_lead")),
        table(df, labels=_labels(list(df))),
    )


def others(run: Run, r: CA.Retro) -> None:
    """This campaign beside the earlier ones (observed figures)."""
    if not r.others:
        return
    cols = ["name", "gmv", "orders", "buyers", "target_gmv", "target_achievement", "spend"]
    cols += ["roas", "new_customers", "cac"]
    df = pd.DataFrame([vars(o) for o in [r.observed, *r.others]])[cols]
    kinds = {"gmv": "money", "orders": "count", "buyers": "count", "target_gmv": "money"}
    kinds |= {"target_achievement": "pct", "spend": "money", "roas": "ratio"}
    kinds |= {"new_customers": "count", "cac": "money"}
    B.show(
        B.section(t("campaign_retro.section.others"), t("campaign_retro.section.others_lead")),
        table(df, kinds, _labels(cols)),
    )


def method(run: Run, r: CA.Retro) -> None:
    """Method and caveats."""
    B.show(B.method_block(N.method_notes(r)))
