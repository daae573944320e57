"""The customer value report (用户价值), one function per section, from the typed result of
:mod:`analysis_lib.analyses.customers` (:class:`~analysis_lib.analyses.customers.CustomerValue`).

:func:`summary` records every figure the report shows in results.json first, then shows the cards
and findings from the same typed result, so the card, the findings, the tables and the index read
one record. Words come from :mod:`analysis_lib.present.narrative.customer_value`, charts from
:mod:`analysis_lib.present.charts.customers`.
"""

from __future__ import annotations

from babel import numbers as B

from analysis_lib.analyses import customers as C
from analysis_lib.present import blocks
from analysis_lib.present.bootstrap import Run
from analysis_lib.present.charts import customers as charts
from analysis_lib.present.context import lang_of, settings
from analysis_lib.present.narrative import customer_value as N
from analysis_lib.present.narrative.customer_value import segment, w
from analysis_lib.present.numbers import LOCALES
from analysis_lib.present.tables import table
from analysis_lib.present.words import label, value

HEADLINE = ["customers", "repeat_customer_share"]
MONTHS_SHOWN = 12  # cohort tables and heatmaps: the first year after the first order


def figures(cv: C.CustomerValue) -> dict:
    """The run's figures for results.json: the same keys as before the presentation layer
    (customers, repeat share, cohorts, segments, model parameters, holdout, export), plus the
    predicted CLV the report now shows (``predicted_clv``: ``None`` without a CLV model; its
    ``total`` is ``None`` when the fit is unreliable, with the reasons) and, when the orders mark
    guests, the guest orders left out of the customer figures (``guest_orders``: count, GMV and
    their shares of the period's orders and GMV)."""
    out = cv.repeat._asdict() | {
        "cohorts": [
            {
                "cohort": c,
                "size": int(g["size"].iloc[0]),
                "retention": g.sort_values("offset")["retention_in"].round(6).tolist(),
            }
            for c, g in cv.cohorts.groupby("cohort")
        ],
        "segments": [
            {"name": r.segment, "customers": int(r.customers), "gmv_share": r.gmv_share}
            for r in cv.segments.itertuples()
        ],
    }
    clv = cv.clv
    if clv is not None and clv.bgnbd is not None:
        out["bgnbd"] = clv.bgnbd._asdict()
        if clv.gamma_gamma is not None:
            out["gamma_gamma"] = clv.gamma_gamma._asdict()
    out["holdout"] = (
        {"actual": clv.holdout_actual, "predicted": clv.holdout_predicted} if clv else None
    )
    out["segment_exported"] = cv.exported
    out["predicted_clv"] = _clv_figures(clv)
    if cv.guests is not None:  # only for a shop whose orders mark guests: others' figures as before
        out["guest_orders"] = cv.guests._asdict()
    return out


def _clv_figures(clv: C.Clv | None) -> dict | None:
    if clv is None:
        return None
    f = clv.forecast
    return {
        "reliable": clv.reliable,
        "warnings": [fw.kind for fw in clv.warnings],
        "months": f.months if f else None,
        "total": f.total if f else None,
        "per_customer": f.per_customer if f else None,
        "by_segment": [
            {"name": r.segment, "customers": int(r.customers), "total": r.clv_total}
            for r in f.by_segment.itertuples()
        ]
        if f
        else None,
    }


def summary(run: Run, cv: C.CustomerValue) -> None:
    """Title line, cards and findings; records the figures first."""
    blocks.record_figures(figures(cv), headline=HEADLINE)
    period = w("period_line", start=run.start, end=run.end)
    blocks.show(
        blocks.title_block(run.P.title_text, period, last_day=run.last_day),
        blocks.summary_block(N.cards(cv, run.P.clv_months), N.findings(cv)),
    )


def actions(run: Run, cv: C.CustomerValue) -> None:
    """What to do: segments to win back with their size; channels that do not pay back."""
    exp = run.P.export_segment.segment if run.P.export_segment else None
    todo, none_reason = N.actions(cv, exp, run.P.ltv_months)
    blocks.show(blocks.actions_block(todo, none_reason))


def segments(run: Run, cv: C.CustomerValue) -> None:
    """RFM segments with what to offer each, then the win-back pool."""
    seg = cv.segments.copy()
    seg["segment_action"] = [w(f"segment_action.{s}") for s in seg.segment]
    seg["segment"] = [segment(s) for s in seg.segment]
    cols = [
        "segment",
        "customers",
        "customer_share",
        "gmv_share",
        "recency_days",
        "frequency",
        "monetary",
        "segment_action",
    ]
    labels = {c: w(f"col.{c}") for c in cols if c not in ("segment", "customers", "gmv_share")}
    blocks.show(
        blocks.section(
            w("section.segments.title"),
            w(
                "section.segments.lead",
                customers=N.fmt(cv.repeat.customers, "count"),
                segments=len(seg),
            ),
        ),
        table(
            seg[cols],
            {
                "customers": "count",
                "customer_share": "pct",
                "gmv_share": "pct",
                "recency_days": "count",
                "frequency": "ratio",
                "monetary": "money",
            },
            labels,
        ),
    )
    stale = N.stale_note(cv)
    if stale:
        blocks.show(blocks.paragraphs([stale], "wb-note wb-warning"))
    pool = cv.dormant
    if len(pool):
        pool = pool.assign(segment=[segment(s) for s in pool.segment])
        blocks.show(
            blocks.section(w("section.pool.title"), w("section.pool.lead")),
            table(
                pool[["segment", "customers", "gmv_share"]],
                {"customers": "count", "gmv_share": "pct"},
            ),
        )


def _months(matrix, first: int, last: int):
    cols = [c for c in matrix.columns if first <= c <= last]
    return matrix[cols], [str(c) for c in cols]


def cohorts(run: Run, cv: C.CustomerValue) -> None:
    """Retention by cohort: the heatmap of months 1-12, then the in-or-after table."""
    if cv.cohorts.empty:
        return
    mat, ticks = _months(C.retention_matrix(cv.cohorts), 1, MONTHS_SHOWN)
    blocks.show(blocks.section(w("section.cohorts.title"), w("section.cohorts.lead")))
    if mat.shape[1] and mat.notna().any().any():
        fig = charts.cohort_heatmap(
            mat,
            "pct",
            w("chart.retention.title"),
            w("chart.month_axis"),
            w("chart.cohort_axis"),
            ticks,
        )
        blocks.figure(fig, w("chart.retention.alt", months=mat.shape[1]))
    # bought again by month N: it only grows, so a month the data does not hold in full is blank
    # (n/a) rather than a fall (the old "in or after" table dropped on its last diagonal)
    after, _ = _months(C.retention_matrix(cv.cohorts, "repeat_by"), 1, MONTHS_SHOWN)
    after = after.rename(columns=lambda c: f"m{c}").reset_index()
    labels = {f"m{c}": w("col.month", n=c) for c in range(1, MONTHS_SHOWN + 1)}
    blocks.show(
        blocks.paragraphs([w("section.cohorts.table_lead")], "wb-note"),
        table(after, {c: "pct" for c in after.columns if c != "cohort"}, labels),
    )


def _currency() -> str:
    """The shop's currency symbol for axis titles ('' without a currency)."""
    cur = settings().currency
    return B.get_currency_symbol(cur, LOCALES[lang_of(None)]) if cur else ""


def _money_title(key: str, **values) -> str:
    cur = _currency()
    return w(key, currency=cur, **values) if cur else w(key, currency="GMV", **values)


def ltv(run: Run, cv: C.CustomerValue) -> None:
    """Historical LTV by cohort, then LTV and CAC by acquisition channel (base stated)."""
    if not cv.cohorts.empty:
        mat, ticks = _months(C.retention_matrix(cv.cohorts, "ltv"), 0, MONTHS_SHOWN)
        blocks.show(blocks.section(w("section.ltv.title"), w("section.ltv.lead")))
        if mat.shape[1] and mat.notna().any().any():
            cur = _currency()
            fig = charts.cohort_heatmap(
                mat,
                "money",
                w("chart.ltv.title") + (f" ({cur})" if cur else ""),
                w("chart.month_axis"),
                w("chart.cohort_axis"),
                ticks,
            )
            blocks.figure(fig, w("chart.ltv.alt", months=mat.shape[1] - 1))
    bc = cv.by_channel
    if bc is not None:
        shown = bc.assign(channel=[value("channel", c) for c in bc.channel])
        months = run.P.ltv_months
        blocks.show(
            blocks.section(
                w("section.channel.title", months=months), w("section.channel.lead", months=months)
            ),
            table(
                shown,
                {
                    "ltv": "money",
                    "new_customers": "count",
                    "spend": "money",
                    "cac": "money",
                    "ltv_cac": "ratio",
                },
                {"ltv": w("col.ltv")},
            ),
        )


def clv(run: Run, cv: C.CustomerValue) -> None:
    """Predictive CLV: a warning in place of the figures when the fit is unreliable; else
    predicted GMV by segment (chart and table); then the holdout check."""
    m = cv.clv
    if m is None:
        return
    months = run.P.clv_months
    lead = N.clv_lead(run.start, m.calibration_end, run.end, months)
    blocks.show(blocks.section(w("section.clv.title"), lead))
    f = m.forecast
    if f is None:
        blocks.show(blocks.paragraphs([N.clv_warning(m)], "wb-note wb-warning"))
    else:
        by = f.by_segment
        names = [segment(s) for s in by.segment]
        fig = charts.clv_by_segment(
            by,
            names,
            w("chart.clv.title", months=months),
            _money_title("chart.clv.x"),
        )
        blocks.figure(fig, w("chart.clv.alt", months=months))
        shown = by.assign(segment=names)
        blocks.show(
            table(
                shown[["segment", "customers", "clv_total", "clv_mean", "clv_share"]],
                {
                    "customers": "count",
                    "clv_total": "money",
                    "clv_mean": "money",
                    "clv_share": "pct",
                },
                {c: w(f"col.{c}") for c in ("clv_total", "clv_mean", "clv_share")},
            )
        )
    check = m.holdout
    if check.empty:  # no model was fitted: nothing to check
        return
    blocks.show(blocks.paragraphs([N.holdout_lead(m)], "wb-note"))
    fig = charts.holdout_bars(
        check,
        {"actual": label("actual"), "predicted": label("predicted")},
        w("chart.holdout.title"),
        w("chart.holdout.x"),
        w("chart.holdout.y"),
    )
    blocks.figure(fig, w("chart.holdout.alt"))
    blocks.show(table(check, {"customers": "count", "actual": "ratio", "predicted": "ratio"}))


def method(run: Run, cv: C.CustomerValue) -> None:
    """Method and caveats."""
    exp = run.P.export_segment.segment if run.P.export_segment else None
    notes = N.method_notes(cv, run.start, run.P.clv, run.P.calibration_end is not None, exp)
    blocks.show(blocks.method_block(notes))
