"""The words of the customer value report, generated from its typed results
(:class:`analysis_lib.analyses.customers.CustomerValue`): card notes, findings in the order what
happened → what drove it → what it means, the actions (segments to win back with their size,
channels that do not pay back), the CLV fit warnings and the method notes. One place per
sentence; the words are in ``catalog/customer_value.yaml``, numbers through
:func:`analysis_lib.present.numbers.fmt`, so a figure reads the same here as in the cards and
tables.
"""

from __future__ import annotations

import numpy as np
from babel import numbers as B

from analysis_lib.analyses import customers as C
from analysis_lib.present.blocks import Action, Card
from analysis_lib.present.context import lang_of
from analysis_lib.present.numbers import LOCALES, fmt, missing
from analysis_lib.present.words import t, value

NS = "customer_value"
PARAM_NAMES = {"r": "r", "alpha": "α", "a": "a", "b": "b"}


def w(key: str, **values) -> str:
    """A sentence of this report's catalog."""
    return t(f"{NS}.{key}", **values)


def segment(key: str) -> str:
    """The label of an RFM segment key (``at_risk`` → "At risk" / "流失风险用户")."""
    return value("segment", key)


def param(v: float) -> str:
    """A model parameter: up to three decimals, thousands grouped (``0.243``, ``192,489``)."""
    if missing(v):
        return fmt(None)
    return B.format_decimal(v, "#,##0.###", locale=LOCALES[lang_of(None)])


# --- summary ---------------------------------------------------------------------------------


def cards(cv: C.CustomerValue, clv_months: int = 12) -> list[Card]:
    """Customers, repeat share, customers to win back, and predicted CLV when the fit is
    reliable (n/a with the reason when it is not). No comparison period: levels, no arrows."""
    dormant = cv.dormant
    out = [
        Card(
            w("card.customers.label"),
            fmt(cv.repeat.customers, "count"),
            w("card.customers.note"),
            key="customers",  # the index prints this card's words (zh in zh)
        ),
        Card(
            w("card.repeat.label"),
            fmt(cv.repeat.repeat_customer_share, "pct"),
            w("card.repeat.note"),
            key="repeat_customer_share",
        ),
        Card(
            w("card.win_back.label"),
            fmt(dormant["customers"].sum(), "count"),
            w("card.win_back.note", share=fmt(dormant["gmv_share"].sum(), "pct")),
        ),
    ]
    if cv.clv is not None:
        f = cv.clv.forecast
        if f is not None:
            out.append(
                Card(
                    w("card.clv.label", months=f.months),
                    fmt(f.total, "money_compact"),
                    w("card.clv.note", per_customer=fmt(f.per_customer, "money")),
                )
            )
        else:
            out.append(
                Card(w("card.clv.label", months=clv_months), fmt(None), w("card.clv.unreliable"))
            )
    return out


def findings(cv: C.CustomerValue) -> list[str]:
    """What happened (customers, repeat share) → what drove it (the segment that brings most
    GMV, month-1 retention) → what it means (the win-back pool, predicted CLV, LTV/CAC)."""
    rep = cv.repeat
    out = [
        w(
            "finding.customers",
            customers=fmt(rep.customers, "count"),
            share=fmt(rep.repeat_customer_share, "pct"),
        )
    ]
    seg = cv.segments
    if len(seg):
        top = seg.sort_values("gmv_share", ascending=False).iloc[0]
        out.append(
            w(
                "finding.top_segment",
                segment=segment(top.segment),
                customer_share=fmt(top.customer_share, "pct"),
                gmv_share=fmt(top.gmv_share, "pct"),
            )
        )
    m1 = cv.cohorts[(cv.cohorts.offset == 1) & cv.cohorts.retention_in.notna()]
    if len(m1) and m1["size"].sum() > 0:
        r1 = np.average(m1.retention_in, weights=m1["size"])
        out.append(w("finding.month1", rate=fmt(r1, "pct")))
    dormant = cv.dormant
    if len(dormant):
        big = dormant.sort_values("customers", ascending=False).iloc[0]
        out.append(
            w(
                "finding.win_back",
                customers=fmt(dormant["customers"].sum(), "count"),
                share=fmt(dormant["gmv_share"].sum(), "pct"),
                segment=segment(big.segment),
                size=fmt(big.customers, "count"),
            )
        )
    if cv.clv is not None:
        f = cv.clv.forecast
        if f is not None and len(f.by_segment):
            top = f.by_segment.sort_values("clv_total", ascending=False).iloc[0]
            out.append(
                w(
                    "finding.clv",
                    total=fmt(f.total, "money"),
                    months=f.months,
                    per_customer=fmt(f.per_customer, "money"),
                    segment=segment(top.segment),
                    share=fmt(top.clv_share, "pct"),
                )
            )
        elif not cv.clv.reliable:
            out.append(w("finding.clv_unreliable", reasons=fit_reasons(cv.clv.warnings)))
    ratio = _channel_ratios(cv)
    if ratio is not None and len(ratio) >= 2:
        best, worst = ratio.iloc[0], ratio.iloc[-1]
        out.append(
            w(
                "finding.ltv_cac",
                best=value("channel", best.channel),
                best_ratio=fmt(best.ltv_cac, "ratio"),
                worst=value("channel", worst.channel),
                worst_ratio=fmt(worst.ltv_cac, "ratio"),
            )
        )
    return out


def _channel_ratios(cv: C.CustomerValue):
    """Channels with an LTV/CAC, highest first (``None`` without spend)."""
    bc = cv.by_channel
    if bc is None or "ltv_cac" not in bc:
        return None
    return bc[bc["ltv_cac"].notna()].sort_values("ltv_cac", ascending=False)


def fit_reasons(warnings: tuple[C.FitWarning, ...]) -> str:
    """Why a CLV fit is not to be trusted, one clause per warning."""
    parts = []
    for fw in warnings:
        if fw.kind == "few_repeat_customers":
            v, lim = fmt(fw.value, "count"), fmt(fw.limit, "count")
        elif fw.kind == "extreme_parameter":
            v, lim = param(fw.value), param(fw.limit)
        elif fw.kind == "no_dropout":
            v, lim = _small_pct(fw.value), fmt(fw.limit, "pct")
        elif fw.kind == "holdout_off":
            v, lim = fmt(fw.value, "signed_pct"), fmt(fw.limit, "pct")
        else:
            v, lim = fmt(fw.value, "count"), fmt(fw.limit, "count")
        name = PARAM_NAMES.get(fw.name, fw.name)
        parts.append(w(f"fit_warning.{fw.kind}", value=v, limit=lim, name=name))
    return w("list_sep").join(parts)


def _small_pct(v: float) -> str:
    """A share that may be far below 0.1% (a dropout chance of 0.0024%), up to three decimals."""
    return fmt(None) if missing(v) else f"{param(v * 100)}%"


def stale_note(cv: C.CustomerValue) -> str:
    """The caveat under the segments when an active-sounding segment has not bought for over a
    year on average ('' when none): the scores rank customers against each other."""
    stale = cv.stale_active
    if stale.empty:
        return ""
    groups = w("list_sep").join(
        w("segment_stale_group", segment=segment(r.segment), days=fmt(r.recency_days, "count"))
        for r in stale.itertuples()
    )
    return w("section.segments.stale", groups=groups, limit=fmt(C.STALE_ACTIVE_DAYS, "count"))


# --- what to do ------------------------------------------------------------------------------


def actions(
    cv: C.CustomerValue, export_segment: str | None = None, ltv_months: int = 12
) -> tuple[list[Action], str]:
    """The segments worth winning back (:attr:`~analysis_lib.analyses.customers.CustomerValue.win_back`:
    enough GMV and customers at stake), largest share of GMV first, each with its size, share of
    GMV, predicted CLV when reliable, and the rule that defines it and makes it an action; then
    acquisition channels whose LTV (GMV) is below their CAC. Returns the actions and the reason
    when there is none."""
    out = []
    clv = cv.clv.forecast if cv.clv is not None else None
    clv_by = clv.by_segment.set_index("segment") if clv is not None else None
    for r in cv.win_back.itertuples():
        text = w(
            "action.win_back",
            segment=segment(r.segment),
            customers=fmt(r.customers, "count"),
            share=fmt(r.gmv_share, "pct"),
            what=w(f"segment_action.{r.segment}"),
        )
        if clv_by is not None and r.segment in clv_by.index:
            text += w("sentence_sep") + w(
                "action.win_back_clv",
                months=clv.months,
                clv=fmt(clv_by.loc[r.segment, "clv_total"], "money"),
            )
        if export_segment == r.segment and cv.exported is not None:
            text += w("sentence_sep") + w("action.exported", count=fmt(cv.exported, "count"))
        rule = w(
            "action.win_back_rule",
            segment=segment(r.segment),
            rule=w(f"segment_rule.{r.segment}"),
            stake=win_back_threshold(),
        )
        out.append(Action(text, rule))
    ratio = _channel_ratios(cv)
    if ratio is not None:
        for r in ratio[ratio["ltv_cac"] < 1].sort_values("ltv_cac").itertuples():
            out.append(
                Action(
                    w(
                        "action.channel",
                        channel=value("channel", r.channel),
                        months=ltv_months,
                        ltv=fmt(r.ltv, "money"),
                        cac=fmt(r.cac, "money"),
                    ),
                    w("action.channel_rule"),
                )
            )
    return out, ("" if out else w("action.none", stake=win_back_threshold()))


def win_back_threshold() -> str:
    """The rule that makes a dormant segment an action (the thresholds of the analysis)."""
    return w(
        "action.win_back_stake",
        share=fmt(C.MIN_WIN_BACK_GMV_SHARE, "pct"),
        customers=fmt(C.MIN_WIN_BACK_CUSTOMERS, "count"),
    )


def too_small_note(cv: C.CustomerValue) -> str:
    """The dormant segments left out of What to do for too little at stake ('' when none)."""
    small = cv.too_small
    if small.empty:
        return ""
    groups = w("list_sep").join(
        w(
            "action.too_small_group",
            segment=segment(r.segment),
            customers=fmt(r.customers, "count"),
            share=fmt(r.gmv_share, "pct"),
        )
        for r in small.itertuples()
    )
    return w("action.too_small", groups=groups, stake=win_back_threshold())


# --- detail and method -----------------------------------------------------------------------


def clv_lead(start, calibration_end, end, months: int) -> str:
    """The sentence that opens the predictive CLV section."""
    return w(
        "section.clv.lead",
        months=months,
        start=start,
        calibration_end=calibration_end,
        end=end,
    )


def clv_warning(clv: C.Clv) -> str:
    """The warning shown in place of the CLV of an unreliable fit."""
    return w("section.clv.warning", reasons=fit_reasons(clv.warnings))


def holdout_lead(clv: C.Clv) -> str:
    """The sentence over the holdout check: actual against predicted repeat purchases."""
    return w(
        "section.clv.holdout",
        calibration_end=clv.calibration_end,
        actual=fmt(clv.holdout_actual, "count"),
        predicted=fmt(clv.holdout_predicted, "count"),
    )


def guests_note(cv: C.CustomerValue) -> str:
    """The guest checkouts left out of every per-customer figure, with their count and share of
    orders and GMV ('' when the orders mark none in the period, or mark no guests at all)."""
    g = cv.guests
    if g is None or not g.orders:
        return ""
    return w(
        "method.guests",
        count=fmt(g.orders, "count"),
        order_share=fmt(g.order_share, "pct"),
        gmv_share=fmt(g.gmv_share, "pct"),
    )


def method_notes(
    cv: C.CustomerValue,
    start,
    clv_wanted: bool,
    has_calibration: bool,
    export_segment: str | None = None,
) -> list[str]:
    """Method and caveats: definitions, the base of LTV and CLV (GMV, not margin), the model
    and its parameters, the checks a fit must pass, what was left out and why."""
    out = [w("method.rfm"), w("method.cohorts"), w("method.ltv_base")]
    guests = guests_note(cv)
    if guests:
        out.insert(0, guests)
    small = too_small_note(cv)
    if small:
        out.append(small)
    if cv.by_channel is None:
        out.append(w("method.no_channel"))
    clv = cv.clv
    if clv is not None and clv.bgnbd is not None:
        b = clv.bgnbd
        gamma = ""
        if clv.gamma_gamma is not None:
            g = clv.gamma_gamma
            gamma = w("method.gamma", p=param(g.p), q=param(g.q), v=param(g.v))
        out.append(
            w(
                "method.clv_model",
                start=start,
                calibration_end=clv.calibration_end,
                r=param(b.r),
                alpha=param(b.alpha),
                a=param(b.a),
                b=param(b.b),
                gamma=gamma,
            )
        )
        out.append(w("method.clv_forecast"))
        lo, hi = C.PARAM_RANGE
        out.append(
            w(
                "method.clv_checks",
                repeat=fmt(C.MIN_REPEAT_CUSTOMERS, "count"),
                lo=param(lo),
                hi=param(hi),
                dropout=fmt(C.MIN_DROPOUT, "pct"),
                tolerance=fmt(C.HOLDOUT_TOLERANCE, "pct"),
            )
        )
    elif clv is None:
        reason = "off" if not clv_wanted else "no_calibration"
        if not clv_wanted or not has_calibration:
            out.append(w("method.no_clv", reason=w(f"method.no_clv_reason.{reason}")))
    if export_segment and cv.exported is not None:
        out.append(
            w("method.exported", count=fmt(cv.exported, "count"), segment=segment(export_segment))
        )
    out.append(w("method.no_comparison"))
    return out
