"""The funnel report's sentences, generated from its typed results
(:class:`analysis_lib.analyses.funnel.FunnelResult`): findings, card notes, actions with their
rules, method notes. One place per sentence; the words are in ``catalog/funnel.yaml``.

Every figure a sentence names is formatted by :func:`analysis_lib.present.numbers.fmt` from the
same result the cards and tables read, so a figure prints the same everywhere (the coherence test
of the funnel reports checks it). Event names, channels, devices and segments go through the
catalog's value labels (:func:`analysis_lib.present.words.value`); a shop's own names show as
written. Unit words come from the counting unit (users or sessions), never a fixed "users".
"""

from __future__ import annotations

from analysis_lib.analyses.funnel import (
    MIN_SEGMENT_UNITS,
    Bottleneck,
    FunnelResult,
    FunnelSpec,
    SegmentGap,
    StepGap,
)
from analysis_lib.present.blocks import Action
from analysis_lib.present.numbers import fmt, rate_change
from analysis_lib.present.words import has, t, value

# --- words for the funnel's keys -----------------------------------------------------------------


def unit(spec: FunnelSpec) -> str:
    """``users`` / ``sessions`` (用户 / 会话): what the funnel counts."""
    return t(f"funnel.unit.{spec.unit}")


def unit_one(spec: FunnelSpec) -> str:
    """``user`` / ``session``."""
    return t(f"funnel.unit_one.{spec.unit}")


def step(event: str) -> str:
    """An event name as a reader knows it (``add to cart`` / ``加购``)."""
    return value("event", event)


def pair(a: str, b: str) -> str:
    """A step of the funnel as a pair of events: ``checkout → purchase`` / ``结算 → 支付``."""
    return t("funnel.pair", a=step(a), b=step(b))


def by_name(by: str) -> str:
    """A breakdown's name (``device`` / ``设备``); a column of the shop's own as written."""
    return t(f"funnel.by.{by}") if has(f"funnel.by.{by}") else by.replace("_", " ")


def others_name(by: str) -> str:
    """``the other devices`` / ``其他设备``: the rest of a breakdown's segments."""
    key = f"funnel.by_others.{by}"
    return t(key) if has(key) else t("funnel.by_others.other")


def segment(by: str, raw: str) -> str:
    """A segment's label: the catalog's for known channels, devices, new/returning; else as the
    data writes it (a category name)."""
    return value(by, raw)


def window_text(seconds: float) -> str:
    """``7 days``, ``36 hours``, ``30 minutes``: the largest unit that divides the window, else
    hours with decimals (a window is a setting, so it is shown as set, not rounded)."""
    for key, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        n = seconds / size
        if n >= 1 and abs(n - round(n)) < 1e-9:
            n = round(n)
            return t(f"funnel.window.{key}1") if n == 1 else t(f"funnel.window.{key}", n=n)
    return t("funnel.window.h", n=f"{seconds / 3600:.4g}")


# --- card notes ----------------------------------------------------------------------------------


def bottleneck_note(neck: Bottleneck) -> str:
    """The bottleneck card's line: its step conversion now and in the compare period."""
    return t(
        "funnel.cards.bottleneck_note", now=fmt(neck.current, "pct"), then=fmt(neck.previous, "pct")
    )


def segment_note(gap: SegmentGap) -> str:
    """The worst segment card's line: its conversion at the step against the others'."""
    return t(
        "funnel.cards.segment_note",
        by=by_name(gap.by),
        conv=fmt(gap.conversion, "pct"),
        others=fmt(gap.others_conversion, "pct"),
        others_name=others_name(gap.by),
    )


def vs_compare(change: str, then: str | None = None) -> str:
    """``−2.1 pp (−15.7%) vs compare period``: a card's change line; with ``then``, the compare
    period's figure it runs from (``+11.3% vs compare period (3,277)``), so a relative change of
    a count is not read as a rate beside it."""
    if then is None:
        return t("funnel.cards.vs_compare", change=change)
    return t("funnel.cards.vs_compare_was", change=change, then=then)


def gap_note(g: StepGap) -> str:
    """The largest gap card's line: breakdown, step, the segment's conversion against the
    others'."""
    return t(
        "funnel.cards.gap_note",
        by=by_name(g.segment.by),
        pair=pair(g.from_step, g.step),
        conv=fmt(g.segment.conversion, "pct"),
        others=fmt(g.segment.others_conversion, "pct"),
        others_name=others_name(g.segment.by),
    )


def _gap_words(g: StepGap, u: str) -> dict:
    """The figures a sentence about the largest segment gap names."""
    s = g.segment
    return {
        "pair": pair(g.from_step, g.step),
        "segment": segment(s.by, s.value),
        "by": by_name(s.by),
        "conv": fmt(s.conversion, "pct"),
        "others": fmt(s.others_conversion, "pct"),
        "others_name": others_name(s.by),
        "p": fmt(g.p_adjusted, "p_value"),
        "n": fmt(s.shortfall),
        "unit": u,
        "b": step(g.step),
    }


# --- findings ------------------------------------------------------------------------------------


def findings(r: FunnelResult, traffic_reason: str | None = None) -> list[str]:
    """The summary's findings, what happened → what drove it → what it means: the funnel's
    result (against the compare period), the bottleneck, the segment at the bottleneck and what
    fixing it is worth, the lowest step conversion when it is not the bottleneck, the entry
    channels, steps with no event, a traffic-source section left out."""
    spec, tbl, u = r.spec, r.table, unit(r.spec)
    last = spec.steps[-1]
    what = {
        "n": fmt(r.entered),
        "unit": u,
        "conv": fmt(r.overall_conversion, "pct"),
        "last": step(last),
        "done": fmt(r.completed),
    }
    prev = r.previous_overall_conversion
    if prev is None or not r.previous_entered:
        out = [t("funnel.findings.overall", **what)]
    else:
        out = [
            t(
                "funnel.findings.overall_vs",
                **what,
                change=rate_change(r.overall_conversion, prev),
                prev=fmt(prev, "pct"),
            )
        ]
    neck = r.bottleneck
    if r.comparison is None:
        out.append(t("funnel.findings.no_compare"))
        if r.gap is not None:
            key = "gap" if r.gap.significant else "gap_not_significant"
            words = _gap_words(r.gap, u)
            if not r.gap.significant:
                words = {k: v for k, v in words.items() if k not in ("n", "unit", "b")}
            out.append(t(f"funnel.findings.{key}", **words))
    elif not r.previous_entered:
        out.append(t("funnel.findings.compare_empty", unit=u))
    elif neck is None:
        out.append(t("funnel.findings.no_fall"))
    else:
        out.append(
            t(
                "funnel.findings.bottleneck",
                pair=pair(neck.from_step, neck.step),
                prev=fmt(neck.previous, "pct"),
                now=fmt(neck.current, "pct"),
                change=rate_change(neck.current, neck.previous),
                p=fmt(neck.p_value, "p_value"),
            )
        )
        if not neck.significant:
            out.append(t("funnel.findings.not_significant"))
        if neck.segment is not None:
            g = neck.segment
            out.append(
                t(
                    "funnel.findings.segment",
                    segment=segment(g.by, g.value),
                    by=by_name(g.by),
                    conv=fmt(g.conversion, "pct"),
                    others=fmt(g.others_conversion, "pct"),
                    others_name=others_name(g.by),
                    n=fmt(g.shortfall),
                    unit=u,
                    b=step(neck.step),
                )
            )
    low = r.lowest_step()
    if low is not None and (neck is None or tbl["step"][low] != neck.step):
        key = "lowest" if neck is None else "lowest_not_neck"
        out.append(
            t(
                f"funnel.findings.{key}",
                pair=pair(tbl["step"][low - 1], tbl["step"][low]),
                conv=fmt(tbl["step_conversion"][low], "pct"),
                drop=fmt(tbl["drop_off"][low]),
                unit=u,
            )
        )
    ch = r.entry_channels()
    if ch is not None:
        out.append(
            t(
                "funnel.findings.channels",
                best=segment("channel", ch.index[0]),
                bc=fmt(ch.iloc[0], "pct"),
                worst=segment("channel", ch.index[-1]),
                wc=fmt(ch.iloc[-1], "pct"),
            )
        )
    if r.missing_steps:
        out.append(t("funnel.findings.missing", step=step(r.missing_steps[0])))
    if traffic_reason == "orders":
        out.append(t("funnel.findings.no_orders"))
    return out


# --- what to do ----------------------------------------------------------------------------------


def actions(r: FunnelResult) -> tuple[list[Action], str]:
    """**What to do**, from the bottleneck: the step and the segment to fix, each with the rule
    that named it; without a compare period, the largest significant segment gap at a step
    (:class:`StepGap`); or why there is none (no step fell, the fall or the gap is not significant
    at the 5% level, nothing to compare)."""
    neck = r.bottleneck
    if r.comparison is None:
        return _gap_action(r)
    if not r.previous_entered:
        return [], t("funnel.actions.none_compare_empty", unit=unit(r.spec))
    if neck is None:
        return [], t("funnel.actions.none_no_fall")
    p = pair(neck.from_step, neck.step)
    if not neck.significant:
        return [], t(
            "funnel.actions.none_not_significant",
            pair=p,
            change=rate_change(neck.current, neck.previous),
            p=fmt(neck.p_value, "p_value"),
        )
    rule = t("funnel.actions.rule_step", p=fmt(neck.p_value, "p_value"))
    g = neck.segment
    if g is not None and g.significant:
        rule += t(
            "funnel.actions.rule_segment",
            min=fmt(MIN_SEGMENT_UNITS),
            unit=unit(r.spec),
            p=fmt(g.p_value, "p_value"),
        )
        text = t(
            "funnel.actions.fix_segment",
            pair=p,
            segment=segment(g.by, g.value),
            by=by_name(g.by),
            conv=fmt(g.conversion, "pct"),
            others=fmt(g.others_conversion, "pct"),
            others_name=others_name(g.by),
            n=fmt(g.shortfall),
            unit=unit(r.spec),
            b=step(neck.step),
        )
    else:
        text = t(
            "funnel.actions.fix_step",
            pair=p,
            prev=fmt(neck.previous, "pct"),
            now=fmt(neck.current, "pct"),
        )
    return [Action(text, rule)], ""


def _gap_action(r: FunnelResult) -> tuple[list[Action], str]:
    """Without a compare period: fix the largest significant segment gap, with its rule."""
    u, g = unit(r.spec), r.gap
    if g is None:
        return [], t("funnel.actions.none_no_compare", min=fmt(MIN_SEGMENT_UNITS), unit=u)
    words = _gap_words(g, u)
    if not g.significant:
        keep = ("segment", "by", "pair", "p")
        return [], t("funnel.actions.none_gap_not_significant", **{k: words[k] for k in keep})
    rule = t(
        "funnel.actions.rule_gap",
        min=fmt(MIN_SEGMENT_UNITS),
        unit=u,
        k=fmt(g.tested),
        p=words["p"],
    )
    text = t("funnel.actions.fix_segment", **{k: v for k, v in words.items() if k != "p"})
    return [Action(text, rule)], ""


# --- method and caveats --------------------------------------------------------------------------


def method_notes(
    spec: FunnelSpec,
    zone: str,
    grain: str,
    compare: bool = True,
    breakdowns: tuple[str, ...] | list[str] = ("channel",),
) -> list[str]:
    """What the funnel counts, in words: unit, entry, window, mode, exclusions, intervals, and
    only the rules that apply to this report: the test against the compare period and the
    bottleneck's definition with one (``compare``), the largest segment gap's without one (when
    there are ``breakdowns``), the two channel conversions with a channel breakdown; the
    trend's count."""
    s1, u, one = step(spec.steps[0]), unit(spec), unit_one(spec)
    out = [
        t("funnel.method.unit", unit=u, one=one),
        t(f"funnel.method.entry_{spec.entry}", s1=s1, one=one),
        t("funnel.method.window", window=window_text(spec.window), s1=s1, zone=zone),
        t(f"funnel.method.{spec.mode}", s1=s1, one=one),
    ]
    for x in spec.exclusions:
        out.append(
            t(
                "funnel.method.exclusion",
                unit=u[:1].upper() + u[1:],
                event=step(x.event),
                a=step(spec.steps[x.from_step]),
                b=step(spec.steps[x.to_step]),
            )
        )
    out.append(t("funnel.method.intervals"))
    if compare:
        out.append(t("funnel.method.compare_test"))
        out.append(t("funnel.method.bottleneck", min=fmt(MIN_SEGMENT_UNITS), unit=u))
    elif breakdowns:
        out.append(t("funnel.method.gap", min=fmt(MIN_SEGMENT_UNITS), unit=u))
    if "channel" in breakdowns:
        out.append(t("funnel.method.channels", unit=u))
    if "purchase" in spec.steps and spec.unit == "user":
        # purchase events, where the KPI monitor's buyers (users too) count valid orders
        out.append(t("funnel.method.purchase", unit=u))
    out.append(t("funnel.method.trend", one=one, grain=t(f"funnel.grain.{grain}")))
    return out
