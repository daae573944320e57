"""The KPI monitor report, section by section: one call per section from the notebook, each
showing what :func:`analysis_lib.analyses.kpi.monitor` computed (never computing a figure of its
own). Words come from :mod:`analysis_lib.present.narrative.kpi_monitor`, numbers from
:func:`analysis_lib.present.numbers.fmt`, charts from :mod:`analysis_lib.present.charts.kpi`.

:func:`record` writes the figures to results.json first; the cards, findings, tables and the
index then show those same figures, each formatted once by the same function.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

import pandas as pd

from analysis_lib.analyses import alerts as A
from analysis_lib.analyses import kpi
from analysis_lib.params.base import today
from analysis_lib.present import blocks
from analysis_lib.present.bootstrap import Run
from analysis_lib.present.charts import alerts as alert_charts
from analysis_lib.present.charts import kpi as charts
from analysis_lib.present.narrative import kpi_monitor as N
from analysis_lib.present.numbers import fmt, missing
from analysis_lib.present.tables import table
from analysis_lib.present.words import label, value


def _col(key: str) -> str:
    return N.w(f"columns.{key}")


def figures(r: kpi.KpiMonitor) -> dict:
    """The run's figures for results.json: every KPI (None where the shop cannot give it, with
    the reason under ``not_available``), the GMV changes and target, the comparison bases, the
    conversion rate on the trend's base and the actions that fired."""
    tot = r.totals
    tg = r.target("gmv")
    return {k: None if k in r.unavailable else tot[k] for k in kpi.KPI_KEYS} | {
        "not_available": N.unavailable_reasons(r),
        "new_buyers": tot["new_buyers"],
        "returning_buyers": tot["returning_buyers"],
        "gmv_change_pop": r.change("gmv", "pop"),
        "gmv_change_yoy": r.change("gmv", "yoy"),
        "gmv_deviation_rate": None if tg is None else tg.deviation_rate,
        # what the deviation rate compares: actual and target over the days that have targets
        "gmv_target": None
        if tg is None
        else {
            "actual": tg.actual,
            "target": tg.target,
            "covered": tg.covered,
            "days_covered": tg.days_covered,
            "period_days": tg.period_days,
        },
        "comparison_bases": {
            b.how: {
                "start": b.start,
                "end": b.end,
                "not_covered": b.gaps,
                "campaigns": [c.name for c in b.campaigns],
            }
            for b in (r.pop, r.yoy)
        },
        # the campaigns in the period, and the base the action rules compared with (None: none)
        "campaigns": [c.name for c in r.campaigns],
        "rule_base": r.like_base,
        # buyers / UV with a visitor counted once per bucket: the base of the trend's points
        "conversion_rate_per_bucket": None if not r.traffic else r.conversion_rate_per_bucket,
        "actions": [s.kind for s in kpi.signals(r)],
    }


@dataclass
class Judged:
    """The days judged (``found``) and their alerts as results.json records them (``records``),
    each marked by the quiet period before the report is rendered: ``to_send``, or
    ``suppressed`` with ``sent_on``, the day the same alert was sent (against ``sent_before``:
    key -> day, what the last report of these params delivered; the runner passes it to the
    notebook as ``alerts_sent``). The delivery sends exactly the ``to_send`` records."""

    found: A.Alerts
    records: list[dict]
    sent_before: dict[str, str]
    delivery: dict | None = None


def judge(
    run: Run, sent: dict[str, str] | None = None, delivery: dict | None = None
) -> Judged | None:
    """The days the ``alerts:`` rules of params judge (default: the period's last complete day;
    or the backfill range), judged once (:func:`analysis_lib.analyses.alerts.detect`), their
    alerts marked by the quiet period against ``sent`` (:func:`analysis_lib.analyses.alerts.quiet`).
    ``delivery`` is what the runner found before the run (:func:`analysis_lib.run.notify.readiness`:
    ``set``, ``ready``, ``missing``): set but with no destination (a variable not set), the alerts
    to send are marked ``not_sent`` here, so the report and results.json say so alike. None
    without an ``alerts:`` section."""
    rules = run.P.alerts
    if rules is None:
        return None
    if isinstance(rules.judge, str):
        # the period's last complete day: its end, or yesterday in the shop's time zone while
        # the period runs on; a day whose feed has not arrived is judged (and alerts as such)
        now = today(run.P.data.timezone)
        days = [max(min(run.end, now - _dt.timedelta(days=1)), run.start)]
    else:
        days = list(pd.date_range(rules.judge.start, rules.judge.end, freq="D").date)
    found = A.detect(
        run.src,
        days,
        kpis=rules.kpis,
        dims=tuple(rules.breakdowns),
        alpha=rules.false_alert_rate,
        history_days=rules.history_days,
        thresholds=[x.parts for x in rules.thresholds],
        targets=[(x.kpi, x.below) for x in rules.targets],
    )
    before = {str(k): str(v) for k, v in (sent or {}).items()}
    recs = alert_records(run, found)
    A.quiet(recs, before, rules.quiet_days)
    if delivery is not None and delivery.get("set") and not delivery.get("ready"):
        for x in recs:
            if x["status"] == "to_send":
                x["status"] = "not_sent"
    return Judged(found, recs, before, delivery)


def alert_records(run: Run, found: A.Alerts | None) -> list[dict]:
    """The alerts as results.json records them (the message and the index read these)."""
    if found is None:
        return []
    rules = run.P.alerts
    return A.records(
        found,
        rules.severity.model_dump(),
        {x.parts: x.severity for x in rules.thresholds},
        {(x.kpi, x.below): x.severity for x in rules.targets},
    )


def record(run: Run, r: kpi.KpiMonitor, judged: Judged | None = None) -> None:
    """Record the figures and the headline the index shows, as the cards show them; with alerts,
    the alert records (each ``to_send`` or ``suppressed``), the days judged and what was sent
    before (``alerts``): the run's delivery sends what these records say."""
    figs = figures(r)
    if judged is not None:
        found, recs = judged.found, judged.records
        figs["alerts"] = {
            "days": [d.isoformat() for d in found.days],
            "alpha": found.alpha,
            "records": recs,
            "quiet_days": run.P.alerts.quiet_days,
            "sent_before": judged.sent_before,
            # what the runner found before the run: delivery set, a destination, what is missing
            "delivery": judged.delivery,
            "subject": N.alert_subject(recs, run.P.title_text, [d.isoformat() for d in found.days]),
            "lines": [N.alert_sentence(x) for x in recs],
        }
    headline = ["gmv", "orders", "conversion_rate" if r.traffic else "buyers", "aov"]
    headline += ["gmv_change_pop", "gmv_deviation_rate"]
    headline = [k for k in headline if not missing(figs[k])]  # n/a is left out of the index
    shown: dict[str, blocks.Card | str] = {c.key: c for c in N.cards(r) if c.key}
    shown["gmv_change_pop"] = blocks.Card(
        label("gmv_change_pop"), N.change_text("gmv", r.totals["gmv"], r.previous["gmv"])
    )
    if figs["gmv_deviation_rate"] is not None:
        shown["gmv_deviation_rate"] = blocks.Card(
            label("gmv_deviation_rate"), fmt(figs["gmv_deviation_rate"], "signed_pct")
        )
    blocks.record_figures(figs, headline=headline, shown=shown)


def summary(run: Run, r: kpi.KpiMonitor, judged: Judged | None = None) -> None:
    """The title line (period, comparison, last day of data), the cards and the findings; an
    alert that fired leads the findings."""
    lead = N.alert_findings(judged.records if judged is not None else [])
    blocks.show(
        blocks.title_block(run.P.title_text, N.period_line(r), N.compared(r), run.last_day),
        blocks.summary_block(N.cards(r), lead + N.findings(r)),
    )


MAX_PANELS = 6
CHART_DAYS = 56  # the days before the first day judged that the alerts chart shows


def alerts(run: Run, judged: Judged | None) -> None:
    """The alerts section: one sentence (with what this run sends and what the quiet period
    holds back), a table of the alerts (day, severity, what, sent or already sent on which day),
    and the flagged KPIs per day with their expected band (the first :data:`MAX_PANELS`
    series)."""
    if judged is None:
        return
    found, recs = judged.found, judged.records
    days = [d.isoformat() for d in found.days]
    delivery = bool(run.P.delivery)
    # set but with no destination when the run began (judge marked the alerts not_sent)
    missing = (
        N.delivery_missing(judged.delivery["missing"])
        if delivery and judged.delivery is not None and not judged.delivery.get("ready")
        else None
    )
    lead = N.alerts_lead(recs, days, found.alpha)
    sending = N.alerts_sending(recs, run.P.alerts.quiet_days) if delivery and not missing else ""
    parts = [blocks.section(N.w("alerts.section"), lead + (N.sep() + sending if sending else ""))]
    if not delivery:
        parts.append(blocks.paragraphs([N.w("alerts.delivery_none")]))
    elif missing:
        parts.append(blocks.paragraphs([N.w("alerts.delivery_missing", why=missing)]))
    if recs:  # the most severe first, then by day, as the manager reads down the table
        recs = sorted(recs, key=lambda x: (N.SEVERITY_RANK.get(x["severity"], 9), x["day"]))
        df = pd.DataFrame(
            {
                "day": [x["day"] for x in recs],
                "severity": [N.w(f"alerts.severity.{x['severity']}") for x in recs],
                "alert": [N.alert_sentence(x) for x in recs],
                "sending": [N.send_status(x, delivery, missing) for x in recs],
            }
        )
        names = {c: N.w(f"alerts.columns.{c}") for c in df.columns}
        # short columns on one line (a date, 级别): the alert's sentence takes the width left
        parts.append(table(df, {}, names, nowrap=["day", "severity", "sending"]))
    blocks.show(*parts)
    series = []
    for x in recs:
        if x["kind"] == "anomaly":
            key = (x["kpi"], x["dimension"], x["value"])
            if key not in series:
                series.append(key)
    if not series:
        return
    start = pd.Timestamp(found.days[0]) - pd.Timedelta(days=CHART_DAYS)
    panels = []
    for k, dim, val in series[:MAX_PANELS]:
        df = A.series_values(found, k, dim, val)
        df = df[df["day"] >= start]
        title = label(k) + (
            N.w("alerts.where", dimension=N.w(f"dimension.{dim}"), value=value(dim, val))
            if dim
            else ""
        )
        panels.append((title, N.kind_of(k), df))
    names = {
        "actual": N.w("alerts.chart_actual"),
        "band": N.w("alerts.chart_band", level=N.level_text(found.alpha)),
        "flagged": N.w("alerts.chart_flagged"),
    }
    n_flag = sum(int(p[2]["anomaly"].fillna(False).astype(bool).sum()) for p in panels)
    alt = N.w(
        "alerts.chart_alt",
        kpi=N.w("list_sep").join(p[0] for p in panels),
        start=start.date(),
        end=found.days[-1],
        level=N.level_text(found.alpha),
        n=fmt(n_flag, "count"),
        s="" if n_flag == 1 else "s",
    )
    blocks.figure(alert_charts.flagged(panels, names), alt)


def actions(run: Run, r: kpi.KpiMonitor, judged: Judged | None = None) -> None:
    """What to do, from the printed rules; or why there is nothing to do. A critical or warning
    alert comes first: it is what needs someone today."""
    urgent = N.alert_action(judged.records if judged is not None else [])
    blocks.show(blocks.actions_block(urgent + N.actions(r), N.no_action_reason()))


def comparison(run: Run, r: kpi.KpiMonitor) -> None:
    """Every KPI against the previous period and last year (rates in pp first)."""
    rows = [
        {
            "metric": label(k),
            "current": N.metric_text(k, r.totals[k]),
            "previous": N.metric_text(k, r.previous[k]),
            "change_pop": N.change_text(k, r.totals[k], r.previous[k]),
            "last_year": N.metric_text(k, r.last_year[k]),
            "change_yoy": N.change_text(k, r.totals[k], r.last_year[k]),
        }
        for k in r.kpis
    ]
    df = pd.DataFrame(rows)
    blocks.show(
        blocks.section(N.section_title("compare", r), N.section_lead("compare", r)),
        table(df, {}, {c: _col(c) for c in df.columns}),
    )


def trend(run: Run, r: kpi.KpiMonitor) -> None:
    """Small multiples of the KPIs by bucket, partial buckets hollow, previous period faded."""
    g = N.grain_words(r.grain)
    keys = [k for k in ["gmv", "orders", "buyers", "aov", "uv", "conversion_rate"] if k in r.kpis]
    blocks.show(blocks.section(N.section_title("trend", r), N.section_lead("trend", r)))
    alt = N.w(
        "chart.trend_alt",
        kpis=N.w("list_sep").join(label(k) for k in keys),
        start=r.start,
        end=r.end,
        **g,
    )
    end = pd.Timestamp(r.end)
    blocks.figure(charts.trend(r.series, r.previous_series, keys, g["unit"], end), alt)


def target(run: Run, r: kpi.KpiMonitor) -> None:
    """Actual against target like for like, and GMV per bucket against its target."""
    g = N.grain_words(r.grain)
    blocks.show(blocks.section(N.section_title("target", r), N.section_lead("target", r)))
    if r.targets:
        df = pd.DataFrame(
            {
                "metric": [label(x.metric) for x in r.targets],
                "actual": [N.metric_text(x.metric, x.actual) for x in r.targets],
                "target": [N.metric_text(x.metric, x.target) for x in r.targets],
                "deviation_rate": [x.deviation_rate for x in r.targets],
                "covered": [
                    N.w(
                        "covered",
                        ranges=N.covered_text(x),
                        days=fmt(x.days_covered, "count"),
                        total=fmt(x.period_days, "count"),
                    )
                    for x in r.targets
                ],
            }
        )
        blocks.show(table(df, {"deviation_rate": "signed_pct"}, {c: _col(c) for c in df.columns}))
    alt = N.w("chart.target_alt", start=r.start, end=r.end, **g)
    blocks.figure(
        charts.actual_vs_target(
            r.series, "gmv", r.target_line, r.grain, g["unit"], pd.Timestamp(r.end)
        ),
        alt,
    )


def drivers(run: Run, r: kpi.KpiMonitor) -> None:
    """The GMV change split into its drivers (LMDI), as a chart and a table."""
    d = r.decomposition
    blocks.show(blocks.section(N.section_title("drivers", r), N.section_lead("drivers", r)))
    if d["contribution"].isna().all():
        return
    change = fmt(r.totals["gmv"] - r.previous["gmv"], "signed_money")
    alt = N.w(
        "chart.drivers_alt",
        drivers=N.w("list_sep").join(label(k) for k in d["driver"]),
        change=change,
    )
    blocks.figure(charts.contribution_bars(d), alt)
    df = pd.DataFrame(
        {
            "driver": [label(k) for k in d["driver"]],
            "previous": [
                N.metric_text(k, v) for k, v in zip(d["driver"], d["previous"], strict=True)
            ],
            "current": [
                N.metric_text(k, v) for k, v in zip(d["driver"], d["current"], strict=True)
            ],
            "contribution": d["contribution"],
            "share_of_change": d["share_of_change"],
        }
    )
    blocks.show(
        table(
            df,
            {"contribution": "signed_money", "share_of_change": "pct"},
            {c: _col(c) for c in df.columns},
        )
    )


def breakdown(run: Run, r: kpi.KpiMonitor) -> None:
    """GMV by channel and by device against the previous period (where orders have them)."""
    if not r.breakdowns:
        return
    parts = [blocks.section(N.section_title("breakdown", r), N.section_lead("breakdown", r))]
    for b in r.breakdowns:
        df = b.table.assign(value=[value(b.dimension, v) for v in b.table["value"]])
        names = {c: _col(c) for c in ["gmv", "previous", "change", "change_pct"]}
        names["value"] = _col(b.dimension)
        parts.append(
            table(
                df[["value", "gmv", "previous", "change", "change_pct"]],
                {
                    "gmv": "money",
                    "previous": "money",
                    "change": "signed_money",
                    "change_pct": "signed_pct",
                },
                names,
            )
        )
    blocks.show(*parts)


def buyers(run: Run, r: kpi.KpiMonitor) -> None:
    """New and returning buyers per bucket; partial buckets show their days in the period. A daily
    grain gets a chart: 31 rows of a table are not read."""
    s = r.series
    head = blocks.section(N.section_title("buyers", r), N.section_lead("buyers", r))
    if r.grain == "day":
        blocks.show(head)
        alt = N.w("chart.buyers_alt", start=r.start, end=r.end)
        blocks.figure(charts.buyers_bars(s, pd.Timestamp(r.end)), alt)
        return
    df = pd.DataFrame({"bucket": s["bucket"].dt.strftime("%Y-%m-%d")})
    formats = {"new_buyers": "count", "returning_buyers": "count", "days": "count"}
    df["days"] = s["days"]
    df["new_buyers"] = s["new_buyers"]
    df["returning_buyers"] = s["returning_buyers"]
    names = {c: _col(c) for c in df.columns if c != "bucket"}
    names["bucket"] = _col(f"bucket.{r.grain}")
    blocks.show(head, table(df, formats, names))


def method(run: Run, r: kpi.KpiMonitor, judged: Judged | None = None) -> None:
    """Method and caveats (with alerts: how the expected ranges are made)."""
    notes = N.method_notes(r)
    if judged is not None:
        notes.append(N.alerts_method(judged.found.alpha, run.P.alerts.history_days))
    blocks.show(blocks.method_block(notes))
