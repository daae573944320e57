"""The sentences of the A/B test report, generated from its typed result
(:class:`analysis_lib.analyses.abtest.AbResult`): findings, the verdict and its reason, the actions
with their rules, section leads and method notes. One place per sentence; the words are in
``catalog/ab_test.yaml`` and the glossary of REPORTS.md (p-value, 95% confidence interval,
significant at the 5% level, inconclusive: the data cannot tell, MDE, SRM with its threshold).

Every figure goes through :func:`analysis_lib.present.numbers.fmt`, so a sentence prints a figure
exactly as the card and the table beside it do. Metric, variant, method and segment names go
through the catalog's values (``values.ab_metric``, ``values.variant``...): a name the catalog does
not know is a name from the params or the data and is shown as written.
"""

from __future__ import annotations

import re

from analysis_lib.analyses import abtest as A
from analysis_lib.analyses import abtest_units as U
from analysis_lib.present import words
from analysis_lib.present.blocks import Action
from analysis_lib.present.context import lang_of, settings
from analysis_lib.present.numbers import Kind, fmt, p_value, rate_change
from analysis_lib.present.words import value

# a space between two Chinese characters (or full-width punctuation): the catalog's Chinese keeps
# spaces around its placeholders for names written in Latin letters (gate_30), and drops them here
# where the name is Chinese (实验组的转化率, not 实验组 的 转化率)
_CJK = "\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef"
_CJK_GAP = re.compile(f"(?<=[{_CJK}]) (?=[{_CJK}])")


def tidy(text: str, lang: str | None = None) -> str:
    """The Chinese spacing of mixed text: no space between two Chinese characters (or full-width
    punctuation), one between Chinese and Latin letters or digits; English as it is."""
    return _CJK_GAP.sub("", text) if lang_of(lang) == "zh" else text


def t(key: str, lang: str | None = None, /, **values) -> str:
    """:func:`analysis_lib.present.words.t` with :func:`tidy` spacing, and the test's unit
    (``{unit}`` players, ``{unit_one}`` player: the settings' ``unit``) for every sentence that
    counts units."""
    unit = settings().unit
    values.setdefault("unit", words.value("unit", unit, lang))
    values.setdefault("unit_one", words.value("unit_one", unit, lang))
    return tidy(words.t(key, lang, **values), lang)


STATUS_TERMS = {
    A.GUARD_PASSED: "terms.guardrail_passed",
    A.GUARD_FAILED: "terms.guardrail_failed",
    A.GUARD_UNSURE: "terms.guardrail_not_enough_data",
}
STATUS_KEYS = {
    A.GUARD_PASSED: "passed",
    A.GUARD_FAILED: "failed",
    A.GUARD_UNSURE: "not_enough_data",
}


# --- names -----------------------------------------------------------------------------------------


def metric_name(name: str) -> str:
    """A metric's label (``values.ab_metric``), else its name as the params give it."""
    return value("ab_metric", name)


def variant_name(variant: str) -> str:
    """A variant's label (``control``, ``treatment``), else the variant as the data writes it."""
    return value("variant", variant)


def method_name(method: str) -> str:
    """The statistical method of a comparison in the report's language."""
    return value("ab_method", method)


def status_name(status: A.GuardStatus) -> str:
    """passed / failed / not enough data, in the glossary's words."""
    return t(STATUS_TERMS[status])


def segment_value(segment: str, raw: str) -> str:
    """A segment's value (a channel, new or returning), else as the data writes it."""
    return value(segment, raw)


def _join(items: list[str]) -> str:
    """``a, b and c`` / ``a、b和c``."""
    if len(items) <= 1:
        return "".join(items)
    return t("ab_test.list_sep").join(items[:-1]) + t("ab_test.list_and") + items[-1]


# --- numbers -----------------------------------------------------------------------------------------


def value_kind(m: A.MetricDef) -> Kind:
    """How a metric's per-variant value is shown: a share for a proportion, money for the shop's
    revenue and revenue per order (GMV amounts, :data:`abtest_units.MONEY_COLUMNS`), else a
    plain number."""
    if m.kind == "proportion":
        return "pct"
    money = m.y in U.MONEY_COLUMNS and not (m.kind == "ratio" and m.denominator in U.MONEY_COLUMNS)
    return "money" if money else "ratio"


def level(alpha: float) -> str:
    """The confidence level as a number of percent: ``95``."""
    return f"{(1 - alpha) * 100:g}"


def alpha_pct(alpha: float) -> str:
    """The significance level as a number of percent: ``5``."""
    return f"{alpha * 100:g}"


def interval_term(res: A.AbResult) -> str:
    """``95% confidence interval``, or the sequence when sequential testing is on."""
    key = "ab_test.interval.sequential" if res.spec.sequential else "terms.ci"
    return t(key, level=level(res.spec.alpha))


def change_text(c: A.Comparison) -> str:
    """The change of a comparison: a rate in percentage points first, then relative
    (``+1.2 pp (+10.4%)``); other metrics relative (``+17.3%``)."""
    if c.kind == "proportion":
        return rate_change(c.treatment_value, c.control_value)
    return fmt(c.rel_diff, "signed_pct")


def significant(c: A.Comparison, alpha: float) -> bool:
    """Significant after the adjustment across variants × metrics."""
    return bool(c.p_value_adjusted < alpha)


def reading(c: A.Comparison, res: A.AbResult) -> str:
    """What a comparison says, in the glossary's words: significant at the 5% level; or
    inconclusive: the data cannot tell; or, when its own interval excludes zero but the
    adjustment for many comparisons takes the significance away, that."""
    alpha = res.spec.alpha
    if significant(c, alpha):
        return t("terms.significant", alpha=alpha_pct(alpha))
    excludes_zero = c.rel_ci_low > 0 or c.rel_ci_high < 0
    if excludes_zero and len(res.comparisons) > 1:
        return t(
            "ab_test.finding.adjusted_away", n=fmt(len(res.comparisons)), raw=p_value(c.p_value)
        )
    return t("terms.inconclusive")


def bound(g: A.GuardrailResult, m: A.MetricDef) -> str:
    """The tolerance as the bound of the relative change: ``−5.0%`` when higher is better,
    ``+5.0%`` when lower is."""
    return fmt(-g.tolerance if m.higher_is_better else g.tolerance, "signed_pct")


# --- findings ---------------------------------------------------------------------------------------

MAX_METRIC_FINDINGS = 3  # metric sentences in the summary; the rest are in the results table


def metric_finding(c: A.Comparison, res: A.AbResult) -> str:
    """One comparison: the two values, the change, its interval and adjusted p-value, and what it
    says."""
    kind = value_kind(res.metrics[c.metric])
    return t(
        "ab_test.finding.metric",
        metric=metric_name(c.metric),
        variant=variant_name(c.variant),
        control=variant_name(res.spec.control),
        tv=fmt(c.treatment_value, kind),
        cv=fmt(c.control_value, kind),
        change=change_text(c),
        ci=interval_term(res),
        lo=fmt(c.rel_ci_low, "signed_pct"),
        hi=fmt(c.rel_ci_high, "signed_pct"),
        p=p_value(c.p_value_adjusted),
        reading=reading(c, res),
    )


def guardrail_finding(g: A.GuardrailResult, res: A.AbResult) -> str:
    """A guardrail's status with the interval and the tolerance it is read against."""
    return t(
        f"ab_test.finding.guard.{STATUS_KEYS[g.status]}",
        metric=metric_name(g.metric),
        variant=variant_name(g.variant),
        ci=interval_term(res),
        rel=fmt(g.rel_diff, "signed_pct"),
        lo=fmt(g.rel_ci_low, "signed_pct"),
        hi=fmt(g.rel_ci_high, "signed_pct"),
        bound=bound(g, res.metrics[g.metric]),
    )


def counts_text(srm: A.SrmResult) -> str:
    """``control 1,349 and treatment 1,333``."""
    return _join(
        [
            t("ab_test.variant_count", variant=variant_name(v), units=fmt(n))
            for v, n in srm.counts.items()
        ]
    )


def srm_finding(res: A.AbResult) -> str:
    """The sample ratio check with its p-value and threshold."""
    s = res.srm
    return t(
        "ab_test.finding.srm_bad" if s.mismatch else "ab_test.finding.srm_ok",
        counts=counts_text(s),
        p=p_value(s.p_value),
        threshold=f"{s.threshold:g}",
    )


def decision_word(v: A.Verdict) -> str:
    """The verdict in a word or three (the card's value)."""
    if v.decision == "ship":
        return t("ab_test.decision.ship_after" if v.conditional else "ab_test.decision.ship")
    return t(
        "ab_test.decision.dont_ship"
        if v.decision == "don't ship"
        else "ab_test.decision.inconclusive"
    )


def _guards(gs: tuple[A.GuardrailResult, ...] | list[A.GuardrailResult]) -> str:
    return _join([metric_name(g.metric) for g in gs])


def reason(res: A.AbResult) -> str:
    """Why the verdict is what it is, from the rule that decided (:func:`abtest.verdict`)."""
    v, spec = res.verdict, res.spec
    c = v.comparison
    if v.basis == "srm":
        return t("ab_test.reason.srm")
    if v.basis == "gain":
        text = t(
            "ab_test.reason.gain",
            metric=metric_name(c.metric),
            change=change_text(c),
            variant=variant_name(c.variant),
            significant=t("terms.significant", alpha=alpha_pct(spec.alpha)),
            p=p_value(c.p_value_adjusted),
        )
        if v.waiting_for:
            verb = t(f"ab_test.reason.waiting_verb.{'one' if len(v.waiting_for) == 1 else 'many'}")
            text += t("ab_test.reason.waiting", guards=_guards(v.waiting_for), verb=verb)
        if v.also_worse:
            worse = _join([f"{metric_name(w.metric)} {change_text(w)}" for w in v.also_worse])
            text += t("ab_test.reason.also_worse", metrics=worse)
        return text
    if v.basis == "guardrail_failed":
        g = v.guardrail
        return t(
            "ab_test.reason.guardrail_failed",
            metric=metric_name(g.metric),
            variant=variant_name(g.variant),
            rel=fmt(g.rel_diff, "signed_pct"),
            bound=bound(g, res.metrics[g.metric]),
        )
    if v.basis == "harm":
        return t(
            "ab_test.reason.harm",
            metric=metric_name(c.metric),
            change=change_text(c),
            variant=variant_name(c.variant),
            p=p_value(c.p_value_adjusted),
            primary=metric_name(res.primary.name),
        )
    if c is None:  # no comparison of the primary metric at all
        return t("terms.inconclusive")
    return t(
        "ab_test.reason.no_difference",
        metric=metric_name(c.metric),
        change=change_text(c),
        variant=variant_name(c.variant),
        ci=interval_term(res),
        lo=fmt(c.rel_ci_low, "signed_pct"),
        hi=fmt(c.rel_ci_high, "signed_pct"),
        alpha=alpha_pct(spec.alpha),
    )


def verdict_finding(res: A.AbResult) -> str:
    """``Verdict: <decision>: <reason>.``"""
    return t("ab_test.finding.verdict", decision=decision_word(res.verdict), reason=reason(res))


def mde_finding(res: A.AbResult) -> str | None:
    """What the test could detect, when it could not tell (None otherwise, or for a ratio)."""
    if res.mde_primary is None or res.verdict.basis != "no_difference":
        return None
    return t(
        "ab_test.finding.mde",
        n=fmt(res.srm.counts.get(res.spec.control)),
        control=variant_name(res.spec.control),
        mde=fmt(res.mde_primary, "pct"),
        metric=metric_name(res.primary.name),
        power=fmt(A.MDE_POWER, "pct"),
    )


def findings(res: A.AbResult) -> list[str]:
    """The summary's findings: what happened (the primary metric, then the others), why it can be
    trusted or not (guardrails, the sample ratio check), what it means (the verdict, and when
    the data cannot tell, what the test could have detected)."""
    ordered = res.of(res.primary.name) + [
        c for c in res.comparisons if c.metric != res.primary.name
    ]
    out = [metric_finding(c, res) for c in ordered[:MAX_METRIC_FINDINGS]]
    if len(ordered) > MAX_METRIC_FINDINGS:
        out.append(t("ab_test.finding.more_metrics", n=fmt(len(ordered) - MAX_METRIC_FINDINGS)))
    out += [guardrail_finding(g, res) for g in res.guardrails]
    out.append(srm_finding(res))
    out.append(verdict_finding(res))
    mde = mde_finding(res)
    return out + ([mde] if mde else [])


# --- what to do -------------------------------------------------------------------------------------


def _rule(key: str, res: A.AbResult) -> str:
    """The rule behind an action (``str.format`` ignores the values a rule does not name)."""
    spec = res.spec
    return t(
        f"ab_test.rule.{key}",
        metric=metric_name(res.primary.name),
        alpha=alpha_pct(spec.alpha),
        correction=t(f"ab_test.correction.{spec.correction}"),
        threshold=f"{spec.srm_threshold:g}",
        ci=interval_term(res),
    )


def actions(res: A.AbResult) -> list[Action]:
    """Whether to ship, most urgent first, each with the rule that produced it. The report always
    has one: even an inconclusive test says not to act on it and what the next test needs."""
    v, spec = res.verdict, res.spec
    control = variant_name(spec.control)
    if v.basis == "srm":
        return [
            Action(
                t("ab_test.action.fix_assignment", counts=counts_text(res.srm)), _rule("srm", res)
            )
        ]
    if v.basis == "gain":
        variant = variant_name(v.variant)
        if v.waiting_for:
            verb = t(f"ab_test.reason.waiting_verb.{'one' if len(v.waiting_for) == 1 else 'many'}")
            first = Action(
                t(
                    "ab_test.action.ship_after",
                    variant=variant,
                    guards=_guards(v.waiting_for),
                    verb=verb,
                    ci=interval_term(res),
                ),
                _rule("ship_after", res),
            )
        else:
            first = Action(t("ab_test.action.ship", variant=variant), _rule("ship", res))
        out = [first]
        if v.also_worse:
            worse = _join([f"{metric_name(w.metric)} {change_text(w)}" for w in v.also_worse])
            out.append(Action(t("ab_test.action.check_worse", metrics=worse), _rule("worse", res)))
        return out
    if v.basis in ("guardrail_failed", "harm"):
        text = t("ab_test.action.keep_control", variant=variant_name(v.variant), control=control)
        return [Action(text, _rule(v.basis, res))]
    others = [variant_name(x) for x in res.srm.counts if x != spec.control]
    variants = t("ab_test.list_or").join(others)
    text = t(
        "ab_test.action.inconclusive",
        variants=variants,
        control=control,
        metric=metric_name(res.primary.name),
    )
    nxt = next_test(res)
    return [Action(tidy(f"{text} {nxt}") if nxt else text, _rule("inconclusive", res))]


def next_test(res: A.AbResult) -> str:
    """For an inconclusive test: what the next one needs (the planner's result), else what this
    one could detect."""
    p = res.plan
    if p is not None and p.days is not None:
        return t(
            "ab_test.action.plan_next",
            mde=fmt(p.mde, "signed_pct"),
            baseline=_baseline(p),
            n=fmt(p.n_per_variant),
            days=fmt(p.days),
            daily=fmt(p.daily_units),
        )
    if res.mde_primary is not None:
        return t("ab_test.action.run_longer", mde=fmt(res.mde_primary, "pct"))
    return ""


def _baseline(p) -> str:
    return fmt(p.baseline, "pct" if p.kind == "proportion" else "ratio")


# --- cards ------------------------------------------------------------------------------------------


def verdict_note(res: A.AbResult) -> str:
    """The line under the verdict card: which variant against which, or why there is none."""
    v = res.verdict
    if v.basis == "srm":
        return t("ab_test.card.verdict_note_srm")
    if v.variant is None:
        return t("ab_test.card.verdict_note_none")
    return t(
        "ab_test.card.verdict_note_variant",
        variant=variant_name(v.variant),
        control=variant_name(res.spec.control),
    )


def primary_card_label(c: A.Comparison, res: A.AbResult) -> str:
    return t(
        "ab_test.card.primary",
        metric=metric_name(c.metric),
        variant=variant_name(c.variant),
        control=variant_name(res.spec.control),
    )


def primary_card_note(c: A.Comparison, res: A.AbResult) -> str:
    return t(
        "ab_test.card.primary_note",
        ci=interval_term(res),
        lo=fmt(c.rel_ci_low, "signed_pct"),
        hi=fmt(c.rel_ci_high, "signed_pct"),
    )


def srm_card_note(res: A.AbResult) -> str:
    return t(
        "ab_test.card.srm_note", p=p_value(res.srm.p_value), threshold=f"{res.srm.threshold:g}"
    )


def mde_card_note(res: A.AbResult) -> str:
    if res.mde_primary is None:
        return t("ab_test.card.mde_na")
    return t(
        "ab_test.card.mde_note", metric=metric_name(res.primary.name), power=fmt(A.MDE_POWER, "pct")
    )


# --- sections ---------------------------------------------------------------------------------------


def assignment_lead(res: A.AbResult) -> str:
    s = res.srm
    key = "lead_bad" if s.mismatch else "lead_ok"
    return t(
        f"ab_test.section.assignment.{key}", p=p_value(s.p_value), threshold=f"{s.threshold:g}"
    )


def several_variants_note(res: A.AbResult) -> str:
    n = res.units_in_several_variants
    return t("ab_test.section.assignment.several", n=fmt(n)) if n else ""


def results_lead(res: A.AbResult) -> str:
    n_sig = sum(significant(c, res.spec.alpha) for c in res.comparisons)
    return t(
        "ab_test.section.results.lead",
        control=variant_name(res.spec.control),
        n_sig=fmt(n_sig),
        n=fmt(len(res.comparisons)),
        alpha=alpha_pct(res.spec.alpha),
    )


def guardrails_lead(res: A.AbResult) -> str:
    parts = []
    for status in (A.GUARD_FAILED, A.GUARD_UNSURE, A.GUARD_PASSED):
        n = sum(g.status == status for g in res.guardrails)
        if n:
            parts.append(
                t("ab_test.section.guardrails.count", n=fmt(n), status=status_name(status))
            )
    return t("ab_test.section.guardrails.lead", counts=t("ab_test.list_sep").join(parts))


def segments_title(res: A.AbResult) -> str:
    return t("ab_test.section.segments.title", metric=metric_name(res.primary.name))


def segments_lead(res: A.AbResult) -> str:
    return t("ab_test.section.segments.lead", metric=metric_name(res.primary.name))


def cumulative_lead(res: A.AbResult) -> str:
    return t("ab_test.section.cumulative.lead", metric=metric_name(res.primary.name))


def plan_text(res: A.AbResult) -> str:
    """The planner's result in a sentence ('' without a planner)."""
    p = res.plan
    if p is None:
        return ""
    key = "plan" if p.days is not None else "plan_no_days"
    return t(
        f"ab_test.section.planning.{key}",
        mde=fmt(p.mde, "signed_pct"),
        baseline=_baseline(p),
        power=fmt(p.power, "pct"),
        alpha=alpha_pct(p.alpha),
        n=fmt(p.n_per_variant),
        total=fmt(p.total_units),
        days=fmt(p.days),
        daily=fmt(p.daily_units),
    )


# --- method and caveats --------------------------------------------------------------------------


def missing_text(name: str, m: A.Missing, lang: str | None = None) -> str:
    """How a metric's missing values were handled, with the count."""
    return t(
        f"ab_test.method.missing.{m.rule}",
        lang,
        metric=metric_name(name) if lang is None else value("ab_metric", name, lang),
        n=fmt(m.units_missing, "count", lang),
        total=fmt(m.units, "count", lang),
        columns=", ".join(m.columns),
        counted=fmt(m.units_counted, "count", lang),
    )


def missing_note(res: A.AbResult) -> str:
    """Each metric with missing values and its rule, or that none misses one."""
    hits = [missing_text(k, m) for k, m in res.missing.items() if m.units_missing]
    if hits:
        return " ".join(hits)
    rules = [
        t(f"ab_test.method.missing_rule.{m.rule}", metric=metric_name(k))
        for k, m in res.missing.items()
    ]
    return t("ab_test.method.missing_none", rules=t("ab_test.list_sep").join(rules))


def _split_text(res: A.AbResult) -> str:
    split = res.spec.planned_split
    if not split:
        return t("ab_test.method.split_equal")
    total = sum(split.values())
    return t("ab_test.list_sep").join(
        f"{variant_name(v)} {fmt(w / total, 'pct')}" for v, w in split.items()
    )


def method_notes(res: A.AbResult) -> list[str]:
    """Method and caveats: the decision rule, intervals and adjustment, each metric's test,
    CUPED and capping, guardrails, the sample ratio check, the MDE, segments, missing values."""
    spec = res.spec
    ci = interval_term(res)
    notes = [
        *_rule_notes(res),
        t(
            "ab_test.method.intervals",
            ci=ci[:1].upper() + ci[1:],
            correction=t(f"ab_test.correction.{spec.correction}"),
        ),
    ]
    if spec.sequential:
        notes.append(
            t("ab_test.method.sequential", n=fmt(spec.sequential_planned_units or res.units))
        )
    methods = {c.metric: c.method for c in res.comparisons}
    for m in spec.metrics:
        if m.name in methods:
            notes.append(
                t(
                    "ab_test.method.metric",
                    metric=metric_name(m.name),
                    method=method_name(methods[m.name]),
                )
            )
        if m.covariate:
            cov = value("ab_metric", m.covariate)
            notes.append(t("ab_test.method.covariate", metric=metric_name(m.name), covariate=cov))
        if m.name in res.winsorize_caps:
            notes.append(
                t(
                    "ab_test.method.winsorize",
                    metric=metric_name(m.name),
                    pct=f"{m.winsorize * 100:g}",
                    cap=fmt(res.winsorize_caps[m.name], value_kind(m)),
                )
            )
    if res.guardrails:
        notes.append(t("ab_test.method.guardrails", ci=ci))
    notes.append(
        t("ab_test.method.srm", split=_split_text(res), threshold=f"{spec.srm_threshold:g}")
    )
    if res.mde_primary is not None:
        notes.append(
            t(
                "ab_test.method.mde",
                metric=metric_name(res.primary.name),
                power=fmt(A.MDE_POWER, "pct"),
                alpha=alpha_pct(spec.alpha),
                control=variant_name(spec.control),
            )
        )
    if len(res.segments):
        notes.append(t("ab_test.method.segments"))
    notes.append(missing_note(res))
    return notes


def _rule_notes(res: A.AbResult) -> list[str]:
    """The verdict rule as a short numbered list, in the order :func:`abtest.verdict` applies it
    (one sentence held five rules)."""
    spec = res.spec
    words = {
        "threshold": f"{spec.srm_threshold:g}",
        "metric": metric_name(res.primary.name),
        "alpha": alpha_pct(spec.alpha),
    }
    keys = ("rule", "rule_srm", "rule_ship", "rule_guard", "rule_harm", "rule_else")
    return [t(f"ab_test.method.{k}", **words) for k in keys]


def period_text(has_dates: bool, period: str) -> str:
    """The title line's period: the params' period, or, for a unit table without dates, that
    there is none (a period in the params would be a made-up one: the rows carry no date)."""
    return period if has_dates else t("ab_test.method.no_period")


# --- data quality -----------------------------------------------------------------------------------


def quality_check(name: str, m: A.Missing, lang: str | None = None) -> tuple[str, str]:
    """The data-quality check of a metric's missing values and its handling (results.json keeps
    the English ones)."""
    metric = name if lang == "en" else value("ab_metric", name, lang)
    check = t("ab_test.quality.check", lang, columns=", ".join(m.columns), metric=metric)
    return check, t(f"ab_test.quality.{m.rule}", lang)
