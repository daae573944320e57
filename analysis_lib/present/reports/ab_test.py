"""The sections of the A/B test report, one call each from the notebook, in the order of
REPORTS.md: :func:`summary` (title line, cards, findings, What to do; it records the figures),
:func:`assignment`, :func:`results`, :func:`guardrails`, :func:`segments`, :func:`cumulative`,
:func:`planning`, :func:`method`, then :func:`finish` (data quality, provenance).

Every section reads the one typed result (:class:`analysis_lib.analyses.abtest.AbResult`) that
results.json records, so a card, a finding, a table cell and the index show the same figure
through the same formatter. Sentences come from :mod:`analysis_lib.present.narrative.ab_test`.
"""

from __future__ import annotations

import pandas as pd

from analysis_lib.analyses import abtest as A
from analysis_lib.core.quality import Finding
from analysis_lib.present import blocks as B
from analysis_lib.present import bootstrap
from analysis_lib.present.charts import abtest as C
from analysis_lib.present.context import configure, use
from analysis_lib.present.narrative import ab_test as N
from analysis_lib.present.narrative.ab_test import t
from analysis_lib.present.numbers import fmt
from analysis_lib.present.tables import table
from analysis_lib.present.words import label

# --- the summary -----------------------------------------------------------------------------------


def record(res: A.AbResult) -> dict:
    """The figures of results.json; the verdict's reason in English, as the runner's other texts."""
    with use(lang="en"):
        reason = N.reason(res)
    return A.record(res, reason)


def primary_comparison(res: A.AbResult) -> A.Comparison | None:
    """The comparison of the primary metric the verdict rests on (else its first)."""
    c = res.verdict.comparison
    if c is not None and c.metric == res.primary.name:
        return c
    got = res.of(res.primary.name)
    return got[0] if got else None


def cards(res: A.AbResult) -> list[B.Card]:
    """Verdict, the primary metric (value, change with arrow; green or red only when significant),
    the sample ratio check, units, the minimum detectable effect."""
    v = res.verdict
    tone = {"ship": "good", "don't ship": "bad"}.get(v.decision, "neutral")
    out = [
        B.Card(label("verdict"), N.decision_word(v), N.verdict_note(res), tone=tone, key="verdict")
    ]
    c = primary_comparison(res)
    if c is not None:
        m = res.primary
        move = (
            B.tone_of(c.rel_diff, m.higher_is_better)
            if N.significant(c, res.spec.alpha)
            else "neutral"
        )
        out.append(
            B.Card(
                N.primary_card_label(c, res),
                fmt(c.treatment_value, N.value_kind(m)),
                N.primary_card_note(c, res),
                change=N.change_text(c),
                direction=B.direction_of(c.rel_diff),
                tone=move,
            )
        )
    s = res.srm
    out += [
        B.Card(
            t("ab_test.card.srm"),
            t("ab_test.card.srm_failed" if s.mismatch else "ab_test.card.srm_passed"),
            N.srm_card_note(res),
            tone="bad" if s.mismatch else "neutral",
        ),
        B.Card(t("ab_test.card.units"), fmt(res.units), N.counts_text(s)),
        B.Card(
            t("ab_test.card.mde"),
            fmt(res.mde_primary, "pct"),
            N.mde_card_note(res),
            key="mde_primary",
        ),
    ]
    return out


def summary(run: bootstrap.Run, res: A.AbResult) -> None:
    """Title line, cards, findings and What to do; records every figure for results.json, with
    the verdict and the MDE as the index shows them (the cards' text). Sets the test's unit for
    every later section (the sentences count "players", not "units")."""
    configure(unit=run.P.unit_name())
    cs = cards(res)
    v = res.verdict
    shown: dict[str, B.Card] = {"verdict": cs[0], "mde_primary": cs[-1]}
    headline = ["verdict", "mde_primary"]
    if v.variant is not None:
        shown["verdict_variant"] = B.Card(label("verdict_variant"), N.variant_name(v.variant))
        headline.insert(1, "verdict_variant")
    B.record_figures(record(res), headline=headline, shown=shown)
    B.show(
        B.title_block(
            run.P.title_text,
            N.period_text(run.P.unit_table is None, run.period_text()),
            compared=N.variant_name(res.spec.control),
            last_day=run.last_day,
        ),
        B.summary_block(cs, N.findings(res)),
        B.actions_block(N.actions(res)),
    )


# --- detail sections -------------------------------------------------------------------------------


def assignment(run: bootstrap.Run, res: A.AbResult) -> None:
    """Units per variant against the planned split (the sample ratio check)."""
    s = res.srm
    df = pd.DataFrame(
        {
            "variant": [N.variant_name(v) for v in s.counts],
            "units": list(s.counts.values()),
            "expected": [s.expected[v] for v in s.counts],
        }
    )
    B.show(
        B.section(t("ab_test.section.assignment.title"), N.assignment_lead(res)),
        table(df, {"units": "count", "expected": "count"}, {"units": t("ab_test.card.units")}),
        B.paragraphs([N.several_variants_note(res)]),
    )


def _tone(c: A.Comparison, res: A.AbResult) -> str:
    if not N.significant(c, res.spec.alpha):
        return "neutral"
    return B.tone_of(c.rel_diff, res.metrics[c.metric].higher_is_better)


def _row_label(c: A.Comparison, res: A.AbResult) -> str:
    """``Conversion`` with one treatment variant, ``Conversion · B`` with several."""
    name = N.metric_name(c.metric)
    several = len(res.srm.counts) > 2
    return f"{name} · {N.variant_name(c.variant)}" if several else name


def results(run: bootstrap.Run, res: A.AbResult) -> None:
    """Every metric of every variant against control: the table and the interval chart."""
    ci = N.interval_term(res)
    rows = res.comparisons
    kinds = [N.value_kind(res.metrics[c.metric]) for c in rows]
    df = pd.DataFrame(
        {
            "metric": [N.metric_name(c.metric) for c in rows],
            "variant": [N.variant_name(c.variant) for c in rows],
            "control_value": [fmt(c.control_value, k) for c, k in zip(rows, kinds, strict=True)],
            "treatment_value": [
                fmt(c.treatment_value, k) for c, k in zip(rows, kinds, strict=True)
            ],
            "rel_diff": [c.rel_diff for c in rows],
            "rel_ci_low": [c.rel_ci_low for c in rows],
            "rel_ci_high": [c.rel_ci_high for c in rows],
            "p_value": [c.p_value for c in rows],
            "p_value_adjusted": [c.p_value_adjusted for c in rows],
            "method": [N.method_name(c.method) for c in rows],
        }
    )
    labels = {
        "control_value": label("control_value"),
        "treatment_value": label("treatment_value"),
        "rel_diff": label("relative_change"),
        "rel_ci_low": label("ci_low"),
        "rel_ci_high": label("ci_high"),
        "method": label("method_name"),
    }
    pct = "signed_pct"
    formats = {"rel_diff": pct, "rel_ci_low": pct, "rel_ci_high": pct}
    formats |= {"p_value": "p_value", "p_value_adjusted": "p_value"}
    B.show(
        B.section(t("ab_test.section.results.title"), N.results_lead(res)),
        table(df, formats, labels, spanners={ci: ["rel_ci_low", "rel_ci_high"]}),
    )
    control = N.variant_name(res.spec.control)
    chart = pd.DataFrame(
        {
            "label": [_row_label(c, res) for c in rows],
            "rel_diff": df.rel_diff,
            "lo": df.rel_ci_low,
            "hi": df.rel_ci_high,
            "tone": [_tone(c, res) for c in rows],
        }
    )
    items = t("ab_test.list_sep").join(
        t(
            "ab_test.section.results.chart_item",
            label=r.label,
            rel=fmt(r.rel_diff, pct),
            lo=fmt(r.lo, pct),
            hi=fmt(r.hi, pct),
        )
        for r in chart.itertuples()
    )
    fig = C.interval_plot(
        chart,
        "label",
        "rel_diff",
        "lo",
        "hi",
        t("ab_test.section.results.chart_title", control=control, ci=ci),
        xlabel=t("ab_test.section.results.chart_axis", control=control),
        tone_col="tone",
        legend={k: t(f"ab_test.section.results.legend.{k}") for k in ("good", "bad", "neutral")},
    )
    B.figure(fig, t("ab_test.section.results.chart_alt", control=control, ci=ci, items=items))


def guardrails(run: bootstrap.Run, res: A.AbResult) -> None:
    """Each guardrail's status, from its interval against its tolerance."""
    if not res.guardrails:
        return
    gs = res.guardrails
    df = pd.DataFrame(
        {
            "metric": [N.metric_name(g.metric) for g in gs],
            "variant": [N.variant_name(g.variant) for g in gs],
            "rel_diff": [g.rel_diff for g in gs],
            "rel_ci_low": [g.rel_ci_low for g in gs],
            "rel_ci_high": [g.rel_ci_high for g in gs],
            "tolerance": [g.tolerance for g in gs],
            "status": [N.status_name(g.status) for g in gs],
        }
    )
    pct = "signed_pct"
    B.show(
        B.section(t("ab_test.section.guardrails.title"), N.guardrails_lead(res)),
        table(
            df,
            {"rel_diff": pct, "rel_ci_low": pct, "rel_ci_high": pct, "tolerance": "pct"},
            {
                "rel_diff": label("relative_change"),
                "rel_ci_low": label("ci_low"),
                "rel_ci_high": label("ci_high"),
            },
            spanners={N.interval_term(res): ["rel_ci_low", "rel_ci_high"]},
        ),
    )


def segments(run: bootstrap.Run, res: A.AbResult) -> None:
    """The primary metric within each segment value (exploratory)."""
    seg = res.segments
    if not len(seg):
        return
    kind = N.value_kind(res.primary)
    df = pd.DataFrame(
        {
            "segment": [label(s) for s in seg.segment],
            "value": [N.segment_value(s, v) for s, v in zip(seg.segment, seg.value, strict=True)],
            "variant": [N.variant_name(v) for v in seg.variant],
            "n": seg.n,
            "control_value": seg.control_value,
            "treatment_value": seg.treatment_value,
            "rel_diff": seg.rel_diff,
            "rel_ci_low": seg.rel_ci_low,
            "rel_ci_high": seg.rel_ci_high,
            "p_value": seg.p_value,
        }
    )
    pct = "signed_pct"
    B.show(
        B.section(N.segments_title(res), N.segments_lead(res)),
        table(
            df,
            {
                "n": "count",
                "control_value": kind,
                "treatment_value": kind,
                "rel_diff": pct,
                "rel_ci_low": pct,
                "rel_ci_high": pct,
                "p_value": "p_value",
            },
            {
                "control_value": label("control_value"),
                "rel_diff": label("relative_change"),
                "rel_ci_low": label("ci_low"),
                "rel_ci_high": label("ci_high"),
            },
            spanners={N.interval_term(res): ["rel_ci_low", "rel_ci_high"]},
        ),
    )


def cumulative(run: bootstrap.Run, res: A.AbResult) -> None:
    """The primary metric's relative change by day of assignment, with its band."""
    cum = res.cumulative
    if not len(cum):
        return
    ci = N.interval_term(res)
    metric = N.metric_name(res.primary.name)
    control = N.variant_name(res.spec.control)
    names = {v: N.variant_name(v) for v in cum.variant.unique()}
    days = pd.to_datetime(cum.day)
    last = cum[days == days.max()]
    items = t("ab_test.list_sep").join(
        t(
            "ab_test.section.results.chart_item",
            label=names[r.variant],
            rel=fmt(r.rel_diff, "signed_pct"),
            lo=fmt(r.rel_ci_low, "signed_pct"),
            hi=fmt(r.rel_ci_high, "signed_pct"),
        )
        for r in last.itertuples()
    )
    fig = C.band_trend(
        cum.assign(day=days),
        "day",
        "rel_diff",
        "rel_ci_low",
        "rel_ci_high",
        "variant",
        t("ab_test.section.cumulative.chart_title", metric=metric),
        ylabel=t("ab_test.section.cumulative.axis_y", control=control),
        names=names,
        band_names={
            v: t("ab_test.section.cumulative.band", variant=n, ci=ci) for v, n in names.items()
        },
        off_scale=t("ab_test.section.cumulative.off_scale"),
    )
    B.show(B.section(t("ab_test.section.cumulative.title"), N.cumulative_lead(res)))
    alt = t(
        "ab_test.section.cumulative.chart_alt",
        metric=metric,
        first=str(days.min().date()),
        last=str(days.max().date()),
        ci=ci,
        items=items,
    )
    B.figure(fig, alt)


def planning(run: bootstrap.Run, res: A.AbResult) -> None:
    """The planner's result: what the next test needs."""
    if res.plan is not None:
        B.show(B.section(t("ab_test.section.planning.title"), N.plan_text(res)))


def method(run: bootstrap.Run, res: A.AbResult) -> None:
    """Method and caveats: the decision rule, tests, adjustments, missing values."""
    B.show(B.method_block(N.method_notes(res)))


def finish(run: bootstrap.Run, res: A.AbResult) -> None:
    """Data quality (with each metric's missing values of a unit table) and provenance; the
    findings that concern rows are recorded in results.json."""
    extra = []
    if run.P.unit_table is not None:
        for name, m in res.missing.items():
            check, handling = N.quality_check(name, m)
            extra.append(Finding(run.P.unit_table.table, check, m.units_missing, m.units, handling))
    dq = bootstrap.finish(run, extra=extra)
    B.record_figures(
        {
            "data_quality_findings": [
                {
                    "table": f.table,
                    "check": f.check,
                    "rows": f.rows,
                    "total": f.total,
                    "share": f.rows / f.total if f.total else None,
                    "handling": f.handling,
                }
                for f in dq
                if f.rows
            ]
        }
    )
