"""The funnel report's sections, one call each from notebooks/funnel.ipynb: the summary (title
line, cards, findings, what to do, and the figures recorded for results.json and the index), the
funnel, the comparison, the breakdowns, the trend, the time to convert, traffic sources, the
drop-off export and the method.

One source of truth: every headline figure is read from the one
:class:`~analysis_lib.analyses.funnel.FunnelResult`, recorded once (:func:`summary`), and the
cards, findings, tables and the index show that record through the same formatter. The base of
each figure is stated beside it: a card's note names its base (units entered, the steps a rate
runs between, the compare period).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis_lib.analyses import funnel as F
from analysis_lib.analyses import traffic
from analysis_lib.core import metrics as M
from analysis_lib.present import blocks
from analysis_lib.present.blocks import Card, direction_of, tone_of
from analysis_lib.present.bootstrap import Run
from analysis_lib.present.charts import funnel as charts
from analysis_lib.present.narrative import funnel as N
from analysis_lib.present.numbers import fmt, rate_change
from analysis_lib.present.tables import table
from analysis_lib.present.words import label, t

HEADLINE = ["overall_conversion", "bottleneck_step", "bottleneck_segment", "largest_gap"]


def _compared(run: Run) -> str | None:
    cp = run.P.compare_period
    return f"{cp.start} – {cp.end}" if cp else None


def figures(r: F.FunnelResult) -> dict:
    """The figures of results.json: the keys the runner, the index and the tests read
    (``steps``, ``overall_conversion``, ``bottleneck_*``), and what the cards show beside them
    (``compare``: the compare period's entered units and overall conversion; ``bottleneck``: the
    bottleneck's step conversion now and then, its p-value, and the worst segment's figures;
    without a compare period ``largest_gap``: the segment gap the report acts on, its step,
    figures and Bonferroni-adjusted p-value, or ``None``)."""
    neck = r.bottleneck
    gap = neck.segment if neck else None
    out = {
        "steps": [
            {
                "step": row.step,
                "users": int(row.units),  # the key predates sessions: units of either kind
                "step_conversion": row.step_conversion,
                "overall_conversion": row.overall_conversion,
            }
            for row in r.table.itertuples()
        ],
        "overall_conversion": r.overall_conversion,
        "bottleneck_step": neck.step if neck else None,
        "bottleneck_from_step": neck.from_step if neck else None,
        "bottleneck_segment": gap.value if gap else None,
        "compare": None,
        "bottleneck": None,
        "largest_gap": None,
    }
    if r.gap is not None:
        s = r.gap.segment
        out["largest_gap"] = {
            "from_step": r.gap.from_step,
            "step": r.gap.step,
            "segment_by": s.by,
            "segment": s.value,
            "segment_conversion": s.conversion,
            "others_conversion": s.others_conversion,
            "p_value": s.p_value,
            "p_adjusted": r.gap.p_adjusted,
            "gaps_tested": r.gap.tested,
            "significant": r.gap.significant,
            "shortfall": s.shortfall,
        }
    if r.previous is not None:
        out["compare"] = {
            "entered": r.previous_entered,
            "completed": int(r.previous["units"].iloc[-1]),
            "overall_conversion": r.previous_overall_conversion,
        }
    if neck is not None:
        out["bottleneck"] = {
            "step_conversion": neck.current,
            "compare_step_conversion": neck.previous,
            "p_value": neck.p_value,
            "segment_by": gap.by if gap else None,
            "segment_conversion": gap.conversion if gap else None,
            "others_conversion": gap.others_conversion if gap else None,
            "segment_p_value": gap.p_value if gap else None,
            "shortfall": gap.shortfall if gap else None,
        }
    return out


def cards(r: F.FunnelResult) -> dict[str, Card]:
    """The summary's cards by figure key: units entered, overall conversion, units that reached
    the last step, and with a compare period the bottleneck and the worst segment there; without
    one, the largest segment gap when it is significant (the one the report acts on). A count's
    change line names the compare period's count it runs from, so ``+11.3%`` beside an ``11.3%``
    rate reads as a change of the count."""
    spec, u = r.spec, N.unit(r.spec)
    prev = r.previous
    first, last = spec.steps[0], spec.steps[-1]

    def rel(now: float, old: float | None) -> tuple[str, float | None]:
        if old is None or not old:
            return "", None
        return N.vs_compare(fmt(now / old - 1, "signed_pct"), fmt(old)), now - old

    out: dict[str, Card] = {}
    change, delta = rel(r.entered, r.previous_entered)
    out["entered"] = Card(
        t("funnel.cards.entered"), fmt(r.entered), u, change, direction_of(delta),
        tone_of(delta, True),
    )  # fmt: skip
    old = r.previous_overall_conversion if r.previous_entered else None
    d = None if old is None else r.overall_conversion - old
    out["overall_conversion"] = Card(
        t("funnel.cards.overall"),
        fmt(r.overall_conversion, "pct"),
        N.pair(first, last),
        N.vs_compare(rate_change(r.overall_conversion, old), fmt(old, "pct"))
        if old is not None
        else "",
        direction_of(d),
        tone_of(d, True),
    )
    change, delta = rel(r.completed, None if prev is None else int(prev["units"].iloc[-1]))
    # the purchase step counts events (cancelled orders too): say so beside the count, which the
    # KPI monitor's buyers (valid orders) can differ from
    done_note = t("funnel.cards.completed_purchase", unit=u) if last == "purchase" else u
    out["completed"] = Card(
        t("funnel.cards.completed", step=N.step(last)), fmt(r.completed), done_note, change,
        direction_of(delta), tone_of(delta, True),
    )  # fmt: skip
    neck = r.bottleneck
    if neck is not None:
        d = neck.current - neck.previous
        out["bottleneck_step"] = Card(
            t("funnel.cards.bottleneck"),
            N.pair(neck.from_step, neck.step),
            N.bottleneck_note(neck),
            N.vs_compare(rate_change(neck.current, neck.previous)),
            direction_of(d),
            tone_of(d, True),
        )
        if neck.segment is not None:
            g = neck.segment
            out["bottleneck_segment"] = Card(
                t("funnel.cards.segment"), N.segment(g.by, g.value), N.segment_note(g)
            )
    if r.gap is not None and r.gap.significant:
        s = r.gap.segment
        out["largest_gap"] = Card(
            t("funnel.cards.gap"), N.segment(s.by, s.value), N.gap_note(r.gap)
        )
    return out


def summary(run: Run, r: F.FunnelResult, channels_reason: str | None = None) -> None:
    """Title line, cards, findings and **What to do**; records the figures (results.json) with
    the cards the index shows for the headline."""
    c = cards(r)
    headline = [k for k in HEADLINE if k in c]
    blocks.record_figures(figures(r), headline, shown={k: c[k] for k in headline})
    acts, why_none = N.actions(r)
    blocks.show(
        blocks.title_block(run.P.title_text, run.period_text(), _compared(run), run.last_day),
        blocks.summary_block(list(c.values()), N.findings(r, channels_reason)),
        blocks.actions_block(acts, why_none),
    )


_COLS = ["step", "units", "step_conversion", "ci_low", "ci_high", "overall_conversion", "drop_off"]


def steps(run: Run, r: F.FunnelResult) -> None:
    """The funnel: bars and the table of steps with intervals."""
    u = N.unit(r.spec)
    shown = r.table[_COLS].assign(step=[N.step(s) for s in r.table["step"]])
    labels = {c: t(f"funnel.columns.{c}", unit=u) if c == "units" else t(f"funnel.columns.{c}")
              for c in _COLS}  # fmt: skip
    labels["units"] = labels["units"][:1].upper() + labels["units"][1:]
    tbl = r.table
    blocks.show(blocks.section(t("funnel.sections.steps"), t("funnel.sections.steps_lead", unit=u)))
    blocks.figure(
        charts.funnel_bars(tbl, u),
        t(
            "funnel.charts.bars_alt",
            unit=u,
            first=N.step(tbl["step"].iloc[0]),
            n_first=fmt(tbl["units"].iloc[0]),
            last=N.step(tbl["step"].iloc[-1]),
            n_last=fmt(tbl["units"].iloc[-1]),
        ),
    )
    kinds = {"units": "count", "drop_off": "count"} | {
        c: "pct" for c in ("step_conversion", "ci_low", "ci_high", "overall_conversion")
    }
    blocks.show(table(shown, kinds, labels))


def comparison(run: Run, r: F.FunnelResult) -> None:
    """Step conversion now and in the compare period, z-test per step, the bottleneck marked."""
    if r.comparison is None:
        return
    c = r.comparison
    neck = r.bottleneck
    mark = [
        "◀" if neck and (a, b) == (neck.from_step, neck.step) else ""
        for a, b in zip(c["from_step"], c["step"], strict=True)
    ]
    shown = pd.DataFrame(
        {
            "step": [N.pair(a, b) for a, b in zip(c["from_step"], c["step"], strict=True)],
            "current": c["current"],
            "previous": c["previous"],
            "change": c["change"],
            "relative_change": c["relative_change"],
            "p_value": c["p_value"],
            "note": mark,
        }
    )
    labels = {k: t(f"funnel.columns.{k}") for k in ("step", "current", "previous", "change")}
    labels |= {"relative_change": label("relative_change"), "p_value": t("funnel.columns.p_value")}
    labels["note"] = t("funnel.cards.bottleneck")
    blocks.show(
        blocks.section(
            t("funnel.sections.compare"), t("funnel.sections.compare_lead", period=_compared(run))
        ),
        table(
            shown,
            {
                "current": "pct",
                "previous": "pct",
                "change": "pp",
                "relative_change": "signed_pct",
                "p_value": "p_value",
            },
            labels,
        ),
    )


def breakdowns(run: Run, r: F.FunnelResult) -> None:
    """One heatmap per breakdown: step conversions on one scale, overall on its own."""
    u = N.unit(r.spec)
    for by, bt in r.breakdowns.items():
        name = N.by_name(by)
        names = {v: N.segment(by, v) for v in bt.index}
        blocks.show(
            blocks.section(
                t("funnel.sections.breakdown", by=name),
                t("funnel.sections.breakdown_lead", by=name, unit=u),
            )
        )
        steps_only = bt.drop(columns=["entered", "overall"])
        worst = "" if steps_only.isna().all().all() else fmt(steps_only.min().min(), "pct")
        blocks.figure(
            charts.breakdown_heatmap(bt, name, names),
            t("funnel.charts.heat_alt", by=name, worst=worst or fmt(None)),
        )


def _span(df: pd.DataFrame) -> tuple[str, str]:
    """The first and last bucket of a trend, as dates (``n/a`` when empty)."""
    if not len(df):
        return fmt(None), fmt(None)
    return str(pd.Timestamp(df["bucket"].min()).date()), str(
        pd.Timestamp(df["bucket"].max()).date()
    )


def trend(run: Run, tr: F.Trends) -> None:
    """Overall conversion by entry day or week, each unit once, the compare period faded; then
    the every-entry count in one sentence, with its own chart when it differs (a second line on
    the main chart read as a second, competing conversion rate)."""
    spec = run.P.spec()
    g, gs = t(f"funnel.grain.{tr.grain}"), t(f"funnel.grains.{tr.grain}")
    one = N.unit_one(spec)
    last = min(run.end, run.last_day) if run.last_day else run.end
    cmp = tr.previous is not None and len(tr.previous) > 0
    words = {"grain": g, "grains": gs, "unit": N.unit(spec), "one": one}
    lead = t("funnel.sections.trend_lead_compare" if cmp else "funnel.sections.trend_lead", **words)
    blocks.show(blocks.section(t("funnel.sections.trend"), lead))
    lo, hi = _span(tr.per_unit)
    blocks.figure(
        charts.trend_chart(
            tr.per_unit,
            tr.grain,
            run.start,
            last,
            label=t("funnel.charts.trend_per_unit", unit=one),
            title=t("funnel.charts.trend_title", grain=g),
            previous=tr.previous if cmp else None,
            compare=tr.compare,
        ),  # fmt: skip
        t(
            "funnel.charts.trend_alt_compare" if cmp else "funnel.charts.trend_alt",
            grain=g,
            grains=gs,
            lo=lo,
            hi=hi,
            unit=one,
        ),
    )
    a, b = tr.per_unit, tr.every_entry
    if b.empty:
        return
    same = len(a) == len(b) and np.allclose(
        a["conversion"].to_numpy(float), b["conversion"].to_numpy(float)
    )
    if same:
        blocks.show(blocks.paragraphs([t("funnel.sections.every_entry_same", **words)]))
        return
    blocks.show(blocks.paragraphs([t("funnel.sections.every_entry", **words)]))
    lo, hi = _span(b)
    blocks.figure(
        charts.trend_chart(
            b,
            tr.grain,
            run.start,
            last,
            label=t("funnel.charts.trend_every_entry"),
            title=t("funnel.charts.entry_title", grain=g),
        ),  # fmt: skip
        t("funnel.charts.entry_alt", grain=g, grains=gs, lo=lo, hi=hi),
    )


def timing(run: Run, tm: F.Timing) -> None:
    """Median and 90th percentile time per step, in the unit each reaches; the histogram."""
    spec = run.P.spec()
    u = N.unit(spec)
    a, b = spec.steps[0], spec.steps[-1]
    s = tm.steps
    shown = pd.DataFrame(
        {
            "steps": [N.pair(x, y) for x, y in s["step"]],
            "units": s["units"],
            "median": s["median_s"],
            "p90": s["p90_s"],
        }
    )
    labels = {k: t(f"funnel.columns.{k}", unit=u) for k in shown.columns}
    labels["units"] = labels["units"][:1].upper() + labels["units"][1:]
    blocks.show(
        blocks.section(t("funnel.sections.timing"), t("funnel.sections.timing_lead", unit=u)),
        table(shown, {"units": "count", "median": "duration", "p90": "duration"}, labels),
    )
    whole = s[[tuple(x) == (a, b) for x in s["step"]]]
    median = fmt(whole["median_s"].iloc[0], "duration") if len(whole) else fmt(None)
    blocks.figure(
        charts.duration_histogram(tm.hist, u, a, b),
        t("funnel.charts.hist_alt", unit=u, a=N.step(a), b=N.step(b), median=median),
    )


_TRAFFIC = ["channel", "uv", "conversion_rate", "aov", "gmv_per_uv", "bounce_rate", "gmv"]
_TRAFFIC += ["spend", "new_customers", "cac", "roas"]


def traffic_sources(run: Run, channels: pd.DataFrame) -> None:
    """Traffic-source quality per channel, or why it is not shown."""
    title = t("funnel.sections.traffic")
    if not len(channels):
        reason = traffic.why_not(run.src)
        blocks.show(blocks.section(title, t(f"funnel.sections.traffic_{reason or 'empty'}")))
        return
    cols = [c for c in _TRAFFIC if c in channels]
    shown = channels[cols].assign(channel=[N.segment("channel", c) for c in channels["channel"]])
    kinds = {c: M.METRICS[c].kind if c in M.METRICS else "count" for c in cols if c != "channel"}
    kinds["spend"] = "money"
    labels = {"conversion_rate": t("funnel.columns.buyer_conversion")}
    # the lead compares with the channel heatmap only when the report has one
    plain = "" if "channel" in run.P.breakdowns else "_plain"
    blocks.show(
        blocks.section(title, t(f"funnel.sections.traffic_lead{plain}")),
        table(shown, {k: v for k, v in kinds.items() if k in cols}, labels),
    )


def export(run: Run, exported: int | None) -> None:
    """The drop-off export (a count; the ids went to the CRM file, never into the report);
    records ``dropoff_exported``."""
    blocks.record_figures({"dropoff_exported": exported})
    if exported is None:
        return
    u = N.unit(run.P.spec())
    text = t("funnel.sections.export_lead", n=fmt(exported), unit=u,
             step=N.step(run.P.export_dropoff.step))  # fmt: skip
    blocks.show(blocks.section(t("funnel.sections.export"), text))


def method(run: Run, grain: str) -> None:
    """Method and caveats: the funnel's semantics and the definitions the summary uses (only
    the rules that apply: with or without a compare period, with or without breakdowns)."""
    P = run.P
    notes = N.method_notes(
        P.spec(), P.data.timezone, grain, P.compare_period is not None, tuple(P.breakdowns)
    )
    blocks.show(blocks.method_block(notes))
