"""The sentences of the campaign retrospective, generated from its typed result
(:class:`analysis_lib.analyses.campaign.Retro`): card notes, findings (what happened → what drove
it → what it means), the actions with the rules that produced them, the lessons, method notes.
One place per sentence; the words are in ``catalog/campaign_retro.yaml``.

One ROI, on one stated base: (net incremental GMV × margin − spend) / spend, with all campaign
spend and the net incremental GMV of the card (:class:`analysis_lib.analyses.campaign.Roi`). The
channel-attributed ROI (net incremental GMV split by share of campaign GMV) appears only in its
table, labelled as attributed, and in the channel actions, which say so in their rule.
"""

from __future__ import annotations

import pandas as pd

from analysis_lib.analyses import campaign as CA
from analysis_lib.present.blocks import Action
from analysis_lib.present.context import settings
from analysis_lib.present.narrative import impact as NI
from analysis_lib.present.numbers import fmt
from analysis_lib.present.words import catalog, t, value

ALPHA = 0.05  # the level of every interval and test the report shows


def money(v: float | None) -> str:
    return fmt(v, "money")


def ci() -> str:
    return NI.ci_words(ALPHA)


def phase(p: str) -> str:
    return t(f"campaign_retro.phase.{p}")


def step(from_step: str, to_step: str) -> str:
    """``add to cart → checkout`` in the report's language."""
    return f"{value('event', from_step)} → {value('event', to_step)}"


def margin(r: CA.Retro) -> str:
    return fmt(r.margin, "pct")


def spaced(name: str) -> str:
    """A name inside a Chinese sentence: set off by spaces when it starts or ends in Latin
    letters or digits (``调整 tiktok 的投放``), joined directly when it is Chinese
    (``调整广告的投放``); English sentences carry their own spaces."""
    if settings().lang != "zh" or not name:
        return name
    latin = lambda ch: ch.isascii() and ch.isalnum()  # noqa: E731
    return f"{' ' if latin(name[0]) else ''}{name}{' ' if latin(name[-1]) else ''}"


def controls(r: CA.Retro) -> list[str]:
    """The control series by their catalog label where it has one (the sample shop's
    ``search_index`` reads as "search index" / "搜索指数"), else as named in the params."""
    return [t(f"labels.{c}") if f"labels.{c}" in catalog() else c for c in r.controls]


def doubted(r: CA.Retro) -> bool:
    """Whether a model check failed (placebo, level prior, flat pre-period)."""
    return bool(NI.failed_checks(r.impact.model, r.placebo))


def unpaid_gmv(r: CA.Retro) -> float | None:
    """The net incremental GMV attributed to channels without spend (by their share of campaign
    GMV): the channel table's row and the finding that explains the channels' ROIs."""
    roi = r.roi.total
    return None if roi is None else roi.incremental_gmv * r.roi.unpaid_share


# --- the title line and the cards ----------------------------------------------------------------


def period(r: CA.Retro) -> str:
    c = r.camp
    return t(
        "campaign_retro.title_period",
        name=c.name,
        start=str(c.preheat_start),
        end=str(c.end_date),
        post_end=str(c.post_end),
    )


def compared(r: CA.Retro) -> str:
    return t("campaign_retro.compared", start=str(r.pre_start), end=str(r.camp.base_end))


def target_note(r: CA.Retro) -> str:
    o = r.observed
    if o.target_gmv is None:
        return t("campaign_retro.card.no_target")
    return t("campaign_retro.card.target_note", gmv=money(o.gmv), target=money(o.target_gmv))


def net_note(r: CA.Retro) -> str:
    n = r.net
    return t(
        "campaign_retro.card.net_note",
        ci=ci(),
        lo=money(n.ci_low),
        hi=money(n.ci_high),
        days=r.post_window,
    )


def roi_note(r: CA.Retro) -> str:
    """The ROI card's verdict by its interval (inconclusive when it includes zero) and its base,
    in words."""
    roi = r.roi.total
    if roi is None:
        return t("campaign_retro.card.no_spend")
    return t(
        "campaign_retro.card.roi_note",
        verdict=t("campaign_retro.card.roi_verdict." + CA.verdict(roi.ci_low, roi.ci_high)),
        margin=margin(r),
        spend=money(roi.spend),
    )


def roi_interval(r: CA.Retro) -> str:
    roi = r.roi.total
    if roi is None:
        return ""
    return t(
        "campaign_retro.card.roi_interval",
        ci=ci(),
        lo=fmt(roi.ci_low, "signed_pct"),
        hi=fmt(roi.ci_high, "signed_pct"),
    )


def prob_note(r: CA.Retro) -> str:
    return t("campaign_retro.card.prob_note", verdict=NI.verdict(r.net, doubted(r)))


def post_verdict(r: CA.Retro) -> str | None:
    """The post window's verdict by its interval (a credible gain or loss, or inconclusive): the
    one the card, the index row and the findings give (None without a post window)."""
    p = r.phases.get("post")
    if p is None:
        return None
    return t("campaign_retro.effect_verdict." + CA.verdict(p.ci_low, p.ci_high))


def post_note(r: CA.Retro) -> str:
    """The post-campaign dip card's verdict first (as the ROI card's), then its window and
    interval."""
    p = r.phases.get("post")
    if p is None:
        return t("campaign_retro.card.no_post")
    return t(
        "campaign_retro.card.post_note",
        verdict=post_verdict(r),
        days=r.post_window,
        ci=ci(),
        lo=money(p.ci_low),
        hi=money(p.ci_high),
    )


# --- findings ------------------------------------------------------------------------------------


def findings(r: CA.Retro) -> list[str]:
    """A failed model check first of all (so the top agrees with the actions), then what
    happened (GMV and target; the increment against the counterfactual), what drove it (the
    phase that brought most, the post window, the category), what it means (ROI, and why the
    paid channels' attributed ROIs can all be negative beside a positive campaign ROI)."""
    c, o, n = r.camp, r.observed, r.net
    out = []
    lead = NI.checks_lead(r.impact.model, r.placebo, "campaign")
    if lead:
        out.append(lead)
    where = {"name": c.name, "gmv": money(o.gmv), "start": str(c.preheat_start)}
    where["end"] = str(c.end_date)
    if o.target_achievement is not None:
        out.append(
            t(
                "campaign_retro.finding.gmv_target",
                **where,
                achievement=fmt(o.target_achievement, "pct"),
                target=money(o.target_gmv),
            )
        )
    else:
        out.append(t("campaign_retro.finding.gmv", **where))
    camp = r.phases["campaign"]
    out.append(
        t(
            "campaign_retro.finding.incremental",
            inc=money(camp.estimate),
            ci=ci(),
            lo=money(camp.ci_low),
            hi=money(camp.ci_high),
            net=money(n.estimate),
            days=r.post_window,
            net_lo=money(n.ci_low),
            net_hi=money(n.ci_high),
            prob=fmt(n.posterior_prob_causal_effect, "pct"),
        )
    )
    during = {p: e for p, e in r.phases.items() if p in ("preheat", "burst", "return")}
    if during:
        top = max(during, key=lambda p: during[p].estimate)
        e = during[top]
        out.append(
            t(
                "campaign_retro.finding.top_phase",
                phase=t(f"campaign_retro.phase_in.{top}"),
                effect=money(e.estimate),
                lo=money(e.ci_low),
                hi=money(e.ci_high),
            )
        )
    post = r.phases.get("post")
    if post is not None:
        out.append(
            t(
                "campaign_retro.finding.post",
                days=r.post_window,
                effect=fmt(post.estimate, "signed_money"),
                lo=money(post.ci_low),
                hi=money(post.ci_high),
                verdict=post_verdict(r),
            )
        )
    if len(r.categories) and r.categories["extra_gmv"].iloc[0] > 0:
        top_c = r.categories.iloc[0]
        out.append(
            t(
                "campaign_retro.finding.category",
                category=value("category", top_c["category"]),
                share=fmt(top_c["share_of_extra"], "pct"),
            )
        )
    roi = r.roi.total
    if roi is None:
        out.append(t("campaign_retro.finding.no_spend"))
    else:
        out.append(
            t(
                "campaign_retro.finding.roi",
                margin=margin(r),
                net=money(n.estimate),
                spend=money(roi.spend),
                roi=fmt(roi.estimate, "signed_pct"),
                ci=ci(),
                lo=fmt(roi.ci_low, "signed_pct"),
                hi=fmt(roi.ci_high, "signed_pct"),
                verdict=t("campaign_retro.roi_verdict." + CA.verdict(roi.ci_low, roi.ci_high)),
            )
        )
        ch = r.roi.channels
        if len(ch) and r.roi.unpaid_share > 0 and roi.estimate > 0 and (ch["roi"] < 0).all():
            out.append(
                t(
                    "campaign_retro.finding.unpaid",
                    unpaid=fmt(r.roi.unpaid_share, "pct"),
                    gmv=money(unpaid_gmv(r)),
                )
            )
    return out


# --- what to do ------------------------------------------------------------------------------------


def _channel_detail(rows: pd.DataFrame) -> tuple[str, str]:
    names = spaced(t("impact.list_sep").join(value("channel", c) for c in rows["channel"]))
    detail = t("impact.clause_sep").join(
        t(
            "campaign_retro.action.channel_detail",
            channel=value("channel", x.channel),
            roi=fmt(x.roi, "signed_pct"),
            lo=fmt(x.roi_lo, "signed_pct"),
            hi=fmt(x.roi_hi, "signed_pct"),
        )
        for x in rows.itertuples()
    )
    return names, detail


def actions(r: CA.Retro) -> list[Action]:
    """The actions, most urgent first: check the model when the placebo fails; repeat, stop or
    test the campaign by ROI's interval; test a channel before cutting or growing it, by its
    attributed ROI's interval (descriptive: a share of GMV is not a causal split); plan for a post-campaign dip that is below zero; fix funnel steps that got worse."""
    out = []
    if r.placebo.covers_zero is False:
        out.append(
            Action(
                t("campaign_retro.action.placebo", date=str(r.placebo.fake_date)[:10]),
                t("campaign_retro.action.placebo_rule"),
            )
        )
    roi = r.roi.total
    if roi is not None:
        v = CA.verdict(roi.ci_low, roi.ci_high)
        key = {"worked": "repeat", "did_not_work": "stop", "inconclusive": "test"}[v]
        words = {
            "spend": money(roi.spend),
            "roi": fmt(roi.estimate, "signed_pct"),
            "lo": fmt(roi.ci_low, "signed_pct"),
            "hi": fmt(roi.ci_high, "signed_pct"),
        }
        if key == "stop":
            words["margin"] = margin(r)
        out.append(
            Action(
                t(f"campaign_retro.action.{key}", **words),
                t(f"campaign_retro.action.{key}_rule", ci=ci()),
            )
        )
    ch = r.roi.channels
    for key, rows in (("cut", ch[ch.roi_hi < 0]), ("grow", ch[ch.roi_lo > 0])):
        if len(rows):
            names, detail = _channel_detail(rows)
            out.append(
                Action(
                    t(f"campaign_retro.action.{key}", channels=names, detail=detail),
                    t(f"campaign_retro.action.{key}_rule", ci=ci()),
                )
            )
    post = r.phases.get("post")
    if post is not None and post.ci_high < 0:
        out.append(
            Action(
                t(
                    "campaign_retro.action.dip",
                    effect=money(-post.estimate),
                    days=r.post_window,
                    lo=money(post.ci_low),
                    hi=money(post.ci_high),
                ),
                t("campaign_retro.action.dip_rule", ci=ci()),
            )
        )
    if r.funnel is not None:
        for x in r.funnel[r.funnel["verdict"] == "did_not_work"].itertuples():
            out.append(
                Action(
                    t(
                        "campaign_retro.action.step",
                        step=step(x.from_step, x.step),
                        current=fmt(x.current, "pct"),
                        previous=fmt(x.previous, "pct"),
                    ),
                    t("campaign_retro.action.step_rule", alpha=f"{ALPHA:g}"),
                )
            )
    return out


def no_action_reason(r: CA.Retro) -> str:
    return t("campaign_retro.action.none")


# --- lessons and method -------------------------------------------------------------------------


def lessons(r: CA.Retro) -> pd.DataFrame:
    """What worked, what did not and what the data cannot tell, each with its evidence: every
    phase by its interval, every channel by its attributed ROI's interval (below or above
    break-even, descriptive: a share of GMV is not a causal split), the burst funnel's
    steps that moved at the 5% level; then the target (met or missed: an observed figure, not an
    effect) and the category that drove the extra GMV (descriptive: a share is not a verdict).
    The first column is the result of each line in those terms."""
    rows = []

    def add(result: CA.Verdict | str, what: str, evidence: str) -> None:
        key = result if result in ("worked", "did_not_work", "inconclusive") else None
        word = t(f"campaign_retro.verdict.{key}") if key else t(f"campaign_retro.result.{result}")
        rows.append((word, what, evidence))

    for p in CA.PHASES:
        e = r.phases.get(p)
        if e is not None:
            ev = t(
                "campaign_retro.lesson.evidence",
                value=fmt(e.estimate, "signed_money"),
                lo=money(e.ci_low),
                hi=money(e.ci_high),
            )
            add(
                CA.verdict(e.ci_low, e.ci_high),
                t("campaign_retro.lesson.phase", phase=phase(p)),
                ev,
            )
    ch = r.roi.channels
    lowest = ch["roi"].idxmin() if len(ch) > 1 else None
    for i, x in ch.iterrows():
        # a channel's ROI is on GMV attributed by its share (descriptive): below or above
        # break-even by its interval, never "worked" / "did not work", and tested before acting
        v = CA.verdict(x.roi_lo, x.roi_hi)
        side = {"did_not_work": "below", "worked": "above"}.get(v)
        ev = t(
            "campaign_retro.lesson.channel_evidence",
            roi=fmt(x.roi, "signed_pct"),
            lo=fmt(x.roi_lo, "signed_pct"),
            hi=fmt(x.roi_hi, "signed_pct"),
        )
        if i == lowest:
            ev += t("campaign_retro.lesson.channel_lowest", n=len(ch))
        if side:
            ev += t(f"campaign_retro.lesson.channel_{side}")
        add(
            f"{side}_break_even" if side else v,
            t("campaign_retro.lesson.channel", channel=value("channel", x.channel)),
            ev,
        )
    if r.funnel is not None:
        for x in r.funnel[r.funnel["verdict"] != "inconclusive"].itertuples():
            add(
                x.verdict,
                t("campaign_retro.lesson.step", step=step(x.from_step, x.step)),
                t(
                    "campaign_retro.lesson.step_evidence",
                    current=fmt(x.current, "pct"),
                    previous=fmt(x.previous, "pct"),
                    p=fmt(x.p_value, "p_value"),
                ),
            )
    if len(r.categories) and r.categories["extra_gmv"].iloc[0] > 0:
        top = r.categories.iloc[0]
        add(
            "descriptive",
            t("campaign_retro.lesson.category", category=value("category", top["category"])),
            t("campaign_retro.lesson.category_evidence", share=fmt(top["share_of_extra"], "pct")),
        )
    a = r.observed.target_achievement
    if a is not None:
        add(
            "met" if a >= 1 else "missed",
            t("campaign_retro.lesson.target"),
            t("campaign_retro.lesson.target_evidence", achievement=fmt(a, "pct")),
        )
    return pd.DataFrame(rows, columns=["result", "what", "evidence"])


def method_notes(r: CA.Retro) -> list[str]:
    """The model, the fit period, the probability's meaning, the ROI's base, the channel
    attribution, CAC, and the impact paragraphs' assumptions and checks."""
    words = {"start": str(r.pre_start), "end": str(r.camp.base_end), "days": r.post_window}
    if r.controls:
        fit = t(
            "campaign_retro.method.fit", controls=t("impact.list_sep").join(controls(r)), **words
        )
    else:
        fit = t("campaign_retro.method.fit_no_controls", **words)
    notes = [fit, NI.model_note(r.impact.model), NI.probability_note(ALPHA)]
    if r.roi.total is not None:
        notes.append(
            t("campaign_retro.method.roi", margin=margin(r), spend=money(r.roi.total.spend))
        )
        if len(r.roi.channels):
            notes.append(t("campaign_retro.method.channels", unpaid=fmt(r.roi.unpaid_share, "pct")))
        notes.append(t("campaign_retro.method.cac"))
    return notes + paragraphs(r)[3:]


def paragraphs(r: CA.Retro) -> list[str]:
    """The impact paragraphs of the net incremental GMV (:func:`NI.paragraphs`): the first three
    (average, cumulative, verdict) go with the inference table, the rest (assumptions, model and
    placebo checks) with the method."""
    return NI.paragraphs(
        r.net,
        r.impact.model,
        name="GMV",
        intervention=str(r.camp.preheat_start),
        controls=controls(r),
        unit="day",
        kind="money",
        alpha=ALPHA,
        placebo=r.placebo,
        event="campaign",
    )
