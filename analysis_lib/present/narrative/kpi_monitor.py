"""The words of the KPI monitor report, generated from its typed results
(:class:`analysis_lib.analyses.kpi.KpiMonitor`): cards, findings, actions, section leads and
method notes. Each sentence is written in one place here, from ``catalog/kpi_monitor.yaml``, and
every figure in it goes through :func:`analysis_lib.present.numbers.fmt`, so a figure reads the
same in a card, a finding and a table.

Two rules of REPORTS.md are kept here for the whole report:

- a change of a rate is given in percentage points first, relative change second
  (:func:`change_text`), in cards, findings and tables alike;
- every figure states its base: the period's buyers, UV and conversion rate count a person once
  over the whole period, so the conversion rate is above every point of a weekly trend that
  counts visitors once per week. The card and the finding give the rate on the trend's base
  beside it (:attr:`~analysis_lib.analyses.kpi.KpiMonitor.conversion_rate_per_bucket`).
"""

from __future__ import annotations

from analysis_lib.analyses import kpi
from analysis_lib.core import metrics as M
from analysis_lib.present.blocks import Action, Card, direction_of, tone_of
from analysis_lib.present.context import settings
from analysis_lib.present.numbers import fmt, missing, rate_change
from analysis_lib.present.words import label, spaced, t, value

NS = "kpi_monitor"
# whether a rise is good news, for the colour of a card's change (a rising refund rate is red)
HIGHER_IS_BETTER = {
    "gmv": True,
    "orders": True,
    "buyers": True,
    "aov": True,
    "uv": True,
    "conversion_rate": True,
    "refund_rate": False,
}


def w(key: str, /, **values) -> str:
    """A text of this report's catalog."""
    return t(f"{NS}.{key}", **values)


def kind_of(key: str) -> str:
    """The number kind a metric is shown in (the metric registry's)."""
    m = M.METRICS.get(key)
    return m.kind if m else "ratio"


def metric_text(key: str, v: float | None) -> str:
    """A metric's value in full (findings, tables)."""
    return fmt(v, kind_of(key))


def card_text(key: str, v: float | None) -> str:
    """A metric's value on a card: large money compact (``¥20.5万``), the rest as in full."""
    return fmt(v, "money_compact") if kind_of(key) == "money" else metric_text(key, v)


def is_rate(key: str) -> bool:
    return kind_of(key) == "pct"


def change_text(key: str, new: float | None, old: float | None) -> str:
    """The change of a KPI against a base: a rate in percentage points first and relative change
    second (``+2.1 pp (+13.2%)``), any other KPI as a relative change (``+48.0%``); n/a when the
    base is missing. Cards, findings and tables all call this."""
    if missing(new) or missing(old):
        return fmt(None)
    if is_rate(key):
        return rate_change(new, old)
    return fmt(M.safe_div(new - old, old), "signed_pct")


def grain_words(grain: kpi.Grain) -> dict[str, str]:
    """``unit`` (week), ``units`` (weeks) and ``grain`` (weekly) of the report's grain."""
    return {
        "unit": w(f"unit.{grain}"),
        "units": w(f"units.{grain}"),
        "grain": w(f"grain.{grain}"),
    }


def inline(key: str) -> str:
    """A metric's label inside a sentence: ``orders per buyer`` in English (acronyms such as
    ``UV`` and ``AOV`` kept), the label as it is in Chinese."""
    text = label(key)
    if len(text) > 1 and text[0].isupper() and text[1].islower():
        return text[0].lower() + text[1:]
    return text


def date_range(start, end) -> str:
    return w("range", start=start, end=end)


# --- title and cards -------------------------------------------------------------------------


def period_line(r: kpi.KpiMonitor) -> str:
    """``2025-10-01 – 2025-12-31 · weekly``."""
    return w("period_line", start=r.start, end=r.end, grain=grain_words(r.grain)["grain"])


def compared(r: kpi.KpiMonitor) -> str:
    """What the report compares with, for the title line."""
    return w("compared", start=r.pop.start, end=r.pop.end)


def card_keys(r: kpi.KpiMonitor) -> list[str]:
    """Five cards: GMV, orders, conversion rate (buyers without events), AOV, refund rate."""
    return ["gmv", "orders", "conversion_rate" if r.traffic else "buyers", "aov", "refund_rate"]


def card_note(key: str, r: kpi.KpiMonitor) -> str:
    """The base of a card's figure (one line)."""
    if key == "conversion_rate":
        return w(
            "card.note.conversion_rate",
            per_bucket=fmt(r.conversion_rate_per_bucket, "pct"),
            unit=grain_words(r.grain)["unit"],
        )
    return w(f"card.note.{key}")


def cards(r: kpi.KpiMonitor) -> list[Card]:
    """The headline cards, each with its base and its change against the previous period (arrow
    and colour by whether the move is good for that KPI)."""
    out = []
    for key in card_keys(r):
        new, old = r.totals[key], r.previous[key]
        delta = None if missing(new) or missing(old) else new - old
        out.append(
            Card(
                label=label(key),
                value=card_text(key, new),
                unit=card_note(key, r),
                change=w("card.change", change=change_text(key, new, old)),
                direction=direction_of(delta),
                tone=tone_of(delta, HIGHER_IS_BETTER[key]),
                key=key,
            )
        )
    return out


# --- findings ----------------------------------------------------------------------------------


def base_reasons(base: kpi.ComparisonBase) -> str:
    """Why a comparison base is not covered: each table's gap."""
    return w("reason_sep").join(
        w("finding.base_empty", table=w(f"table.{table}"))
        if first is None
        else w("finding.base_starts", table=w(f"table.{table}"), first=first)
        for table, first in base.gaps.items()
    )


def base_na(r: kpi.KpiMonitor, base: kpi.ComparisonBase) -> str | None:
    """The sentence saying which changes are n/a against ``base`` and why (None when covered)."""
    if not base.gaps:
        return None
    kpis = [inline(k) for k in r.kpis if not base.covers(k)]
    return w(
        "finding.base_na",
        what=w(f"finding.base_what.{base.how}"),
        kpis=w("list_sep").join(kpis),
        start=base.start,
        end=base.end,
        why=base_reasons(base),
    )


def covered_text(tg: kpi.TargetComparison) -> str:
    """The days a target comparison covers: ``2025-01-01 – 2025-05-31, 2025-07-01 – …``."""
    return w("list_sep").join(date_range(lo, hi) for lo, hi in tg.covered)


def campaigns_text(cs) -> str:
    """``Double 11 2025 (2025-10-24 – 2025-11-13)``: names as the data spells them."""
    return w("list_sep").join(w("campaign", name=c.name, start=c.start, end=c.end) for c in cs)


def campaign_signal(r: kpi.KpiMonitor) -> kpi.CampaignBase | None:
    return next((s for s in kpi.signals(r) if isinstance(s, kpi.CampaignBase)), None)


def campaign_findings(r: kpi.KpiMonitor) -> list[str]:
    """When only one of the period and the previous one holds a campaign: which, what that does
    to the change against the previous period, and the like-for-like change the rules use."""
    s = campaign_signal(r)
    if s is None:
        return []
    change = change_text("gmv", r.totals["gmv"], r.previous["gmv"])
    if s.previous:
        head = w(
            "finding.campaign_in_base",
            start=r.pop.start,
            end=r.pop.end,
            campaigns=campaigns_text(s.previous),
            change=change,
        )
    else:
        head = w(
            "finding.campaign_in_period",
            start=r.pop.start,
            end=r.pop.end,
            campaigns=campaigns_text(s.current),
            change=change,
        )
    if s.like is None:
        tail = w("finding.campaign_like.none")
    elif r.yoy.campaigns:
        tail = w(
            "finding.campaign_like.with",
            campaigns=campaigns_text(r.yoy.campaigns),
            change=fmt(s.like_change, "signed_pct"),
        )
    else:
        tail = w("finding.campaign_like.without", change=fmt(s.like_change, "signed_pct"))
    return [head + sep() + tail]


def driver_finding(r: kpi.KpiMonitor) -> str | None:
    """What drove the GMV change against the previous period, in words by sign: the driver that
    added most and the one that pulled GMV down most (a drag is never called a contribution);
    None when the decomposition is n/a."""
    d = r.decomposition.dropna(subset=["contribution"])
    if not len(d):
        return None
    change = r.totals["gmv"] - r.previous["gmv"]
    ups, downs = d[d["contribution"] > 0], d[d["contribution"] < 0]
    values = {"change": fmt(change, "signed_money")}
    if len(ups):
        up = ups.loc[ups["contribution"].idxmax()]
        values |= {"up": inline(up["driver"]), "up_c": fmt(up["contribution"], "signed_money")}
    if len(downs):
        dn = downs.loc[downs["contribution"].idxmin()]
        values |= {"down": inline(dn["driver"]), "down_c": fmt(dn["contribution"], "signed_money")}
    if len(ups) and len(downs):
        return w(
            "finding.driver.rise_mixed" if change >= 0 else "finding.driver.fall_mixed", **values
        )
    if len(ups):
        return w("finding.driver.all_up", **values)
    if len(downs):
        return w("finding.driver.all_down", **values)
    return w("finding.driver.flat")


def findings(r: kpi.KpiMonitor) -> list[str]:
    """What happened (GMV, its changes and the bases that are n/a), what drove it (the GMV
    decomposition, conversion, new buyers, refunds), what it means (where GMV stands against its
    target, and over which days)."""
    tot, prev = r.totals, r.previous
    out = [
        w(
            "finding.gmv",
            gmv=metric_text("gmv", tot["gmv"]),
            start=r.start,
            end=r.end,
            pop=change_text("gmv", tot["gmv"], prev["gmv"]),
            yoy=change_text("gmv", tot["gmv"], r.last_year["gmv"]),
        )
    ]
    out += [s for s in (base_na(r, r.pop), base_na(r, r.yoy)) if s]
    out += campaign_findings(r)
    driver = driver_finding(r)
    if driver:
        out.append(driver)
    if r.traffic:
        out.append(
            w(
                "finding.conversion",
                cr=metric_text("conversion_rate", tot["conversion_rate"]),
                delta=change_text(
                    "conversion_rate", tot["conversion_rate"], prev["conversion_rate"]
                ),
                buyers=metric_text("buyers", tot["buyers"]),
                uv=metric_text("uv", tot["uv"]),
                unit=grain_words(r.grain)["unit"],
                per_bucket=fmt(r.conversion_rate_per_bucket, "pct"),
            )
        )
    else:
        out.append(w("finding.no_traffic"))
    out.append(
        w(
            "finding.new",
            share=fmt(M.safe_div(tot["new_buyers"], tot["buyers"]), "pct"),
            buyers=metric_text("buyers", tot["buyers"]),
        )
    )
    out.append(
        w(
            "finding.refund",
            rate=metric_text("refund_rate", tot["refund_rate"]),
            delta=change_text("refund_rate", tot["refund_rate"], prev["refund_rate"]),
        )
    )
    for tg in r.targets:
        out.append(
            w(
                "finding.target_hit",
                metric=label(tg.metric),
                ratio=fmt(tg.achievement, "pct"),
                actual=metric_text(tg.metric, tg.actual),
                target=metric_text(tg.metric, tg.target),
                dev=fmt(tg.deviation_rate, "signed_pct"),
            )
        )
        if not tg.complete:
            out.append(
                w(
                    "finding.target_partial",
                    days=fmt(tg.days_covered, "count"),
                    total=fmt(tg.period_days, "count"),
                    ranges=covered_text(tg),
                )
            )
    return out


# --- what to do --------------------------------------------------------------------------------


def thresholds() -> dict[str, str]:
    """The action rules' thresholds as printed: ``3.0%``, ``10.0%``, ``1.0 pp``."""
    return {
        "shortfall": fmt(kpi.TARGET_SHORTFALL, "pct"),
        "fall": fmt(kpi.SEGMENT_FALL, "pct"),
        "rise": fmt(kpi.REFUND_RISE, "pp").lstrip("+"),
    }


def base_words(how: kpi.BaseHow) -> str:
    """``the previous period`` / ``last year`` inside a sentence."""
    return w(f"base.{how}")


def action(s: kpi.Signal, r: kpi.KpiMonitor) -> Action:
    """One signal of :func:`analysis_lib.analyses.kpi.signals` as an action with its rule."""
    th = thresholds()
    if isinstance(s, kpi.LateFeed):
        return Action(
            w(
                "action.late_feed",
                units=grain_words(r.grain)["units"],
                last_day=s.last_day,
                days=fmt(s.days_missing, "count"),
            ),
            w("rule.late_feed"),
        )
    if isinstance(s, kpi.CampaignBase):
        change = fmt(s.change, "signed_pct")
        text = (
            w("action.campaign_in_base", change=change, campaigns=campaigns_text(s.previous))
            if s.previous
            else w("action.campaign_in_period", change=change, campaigns=campaigns_text(s.current))
        )
        tail = (
            w("action.campaign_compare.none")
            if s.like is None
            else w("action.campaign_compare.yoy", change=fmt(s.like_change, "signed_pct"))
        )
        return Action(text + sep() + tail, w("rule.campaign_base"))
    if isinstance(s, kpi.BelowTarget):
        tg = s.target
        common = {
            "gap": fmt(-tg.deviation_rate, "pct"),
            "actual": metric_text(tg.metric, tg.actual),
            "target": metric_text(tg.metric, tg.target),
        }
        if s.how is None or missing(s.change) or (s.change < 0 and s.driver is None):
            text = w("action.below_target_no_base", **common)
        elif s.change >= 0:
            text = w(
                "action.below_target_rose",
                change=fmt(s.change, "pct"),
                base=base_words(s.how),
                **common,
            )
        else:
            text = w(
                "action.below_target",
                change=fmt(-s.change, "pct"),
                base=base_words(s.how),
                driver=inline(s.driver),
                contrib=fmt(s.contribution, "signed_money"),
                **common,
            )
        return Action(text, w("rule.below_target", shortfall=th["shortfall"]))
    if isinstance(s, kpi.SegmentFell):
        return Action(
            w(
                "action.segment_fell",
                dimension=w(f"dimension.{s.dimension}"),
                value=value(s.dimension, s.value),
                loss=fmt(s.previous - s.gmv, "money"),
                change=fmt(s.change_pct, "signed_pct"),
                previous=fmt(s.previous, "money"),
                gmv=fmt(s.gmv, "money"),
                base=base_words(s.how),
            ),
            w("rule.segment_fell", fall=th["fall"]),
        )
    return Action(
        w(
            "action.refund_up",
            delta=change_text("refund_rate", s.rate, s.previous),
            rate=metric_text("refund_rate", s.rate),
            base=base_words(s.how),
        ),
        w("rule.refund_up", rise=th["rise"]),
    )


def actions(r: kpi.KpiMonitor) -> list[Action]:
    """What to do, most urgent first, each with the rule that produced it."""
    return [action(s, r) for s in kpi.signals(r)]


def no_action_reason() -> str:
    """Why there is nothing to do: every rule, checked and quiet."""
    return w("action.none", **thresholds())


# --- sections ----------------------------------------------------------------------------------


def section_title(name: str, r: kpi.KpiMonitor) -> str:
    return w(f"section.{name}.title", **grain_words(r.grain))


def section_lead(name: str, r: kpi.KpiMonitor) -> str:
    """The one sentence that opens a detail section (what the reader should see)."""
    if name == "drivers":
        if r.decomposition["contribution"].isna().all():
            return w("section.drivers.na")
        return w("section.drivers.lead_traffic" if r.traffic else "section.drivers.lead_orders")
    g = grain_words(r.grain)
    lead = w(f"section.{name}.lead", fall=thresholds()["fall"], **g)
    if name == "breakdown" and r.like_base == "yoy":
        lead += sep() + w("section.breakdown.lead_yoy")
    if name == "trend":
        if r.previous_series is not None:
            lead += sep() + w("section.trend.lead_previous")
        if not r.series["complete"].all():
            lead += sep() + w("section.trend.lead_partial", **g)
    return lead


def sep() -> str:
    """Between two sentences: a space in English, nothing in Chinese."""
    return "" if settings().lang == "zh" else " "


def method_notes(r: kpi.KpiMonitor) -> list[str]:
    """Method and caveats: definitions, the bases of distinct counts and comparisons, targets,
    the decomposition, partial buckets (when there are any)."""
    g = grain_words(r.grain)
    notes = [w("method.definitions"), w("method.distinct", unit=g["unit"]), w("method.bases")]
    notes.append(w("method.rule_base"))
    if r.targets:
        notes.append(w("method.targets"))
    notes.append(w("method.lmdi"))
    if not r.series["complete"].all():
        notes.append(w("method.partial", unit=g["unit"]))
    return notes


def unavailable_reasons(r: kpi.KpiMonitor) -> dict[str, str]:
    """The KPIs this shop cannot give with the reason, in English, for results.json."""
    return {k: t(f"{NS}.unavailable.{why}", "en") for k, why in r.unavailable.items()}


# --- alerts --------------------------------------------------------------------------------------
# Each takes the alert records as results.json keeps them (analyses.alerts.records), so the report,
# the index and the message sent (run/notify.py) word the same record the same way.


def _plural(n: int) -> str:
    return "" if n == 1 else "s"


def days_text(days: list[str]) -> str:
    """The days judged: one day, or the first and the last."""
    if not days:
        return fmt(None)
    return days[0] if len(days) == 1 else date_range(days[0], days[-1])


def level_text(alpha: float) -> str:
    """The interval's level: ``99.8%``."""
    return fmt(1 - alpha, "pct")


def _where(rec: dict) -> str:
    if not rec.get("dimension"):
        return ""
    dim = rec["dimension"]
    return w("alerts.where", dimension=w(f"dimension.{dim}"), value=value(dim, rec["value"]))


def alert_sentence(rec: dict) -> str:
    """One alert in one or two sentences: the day, the KPI, its value against the expected
    range and the probability under the model, the likely driver; or the rule it met."""
    return spaced(_alert_sentence(rec))


def _alert_sentence(rec: dict) -> str:
    kind = rec["kind"]
    if kind == "no_data":
        if rec["tables"] == ["orders"] and rec.get("visits"):
            return w("alerts.no_orders", day=rec["day"])
        tables = w("list_sep").join(w(f"table.{t}") for t in rec["tables"])
        return w("alerts.no_data", day=rec["day"], tables=tables)
    k = rec["kpi"]
    if kind == "threshold":
        return w(
            "alerts.threshold",
            day=rec["day"],
            kpi=label(k),
            actual=metric_text(k, rec["actual"]),
            op=w(f"alerts.op.{rec['op']}"),
            limit=metric_text(k, rec["limit"]),
        )
    if kind == "target":
        return w(
            "alerts.target",
            day=rec["day"],
            kpi=inline(k),
            actual=metric_text(k, rec["actual"]),
            deviation=fmt(rec["deviation"], "signed_pct"),
            target=metric_text(k, rec["target"]),
            limit=fmt(rec["limit"], "signed_pct"),
        )
    size = (
        rate_change(rec["actual"], rec["expected"])
        if is_rate(k)
        else fmt(rec["size"], "signed_pct")
    )
    text = w(
        "alerts.anomaly",
        day=rec["day"],
        kpi=label(k),
        where=_where(rec),
        actual=metric_text(k, rec["actual"]),
        expected=metric_text(k, rec["expected"]),
        low=metric_text(k, rec["ci_low"]),
        high=metric_text(k, rec["ci_high"]),
        size=w("alerts.size", size=size),
        p=p_text(rec["p"]),
    )
    d = rec.get("driver")
    if d:
        text += sep() + w(
            "alerts.driver",
            dimension=w(f"dimension.{d['dimension']}"),
            value=value(d["dimension"], d["value"]),
            actual=metric_text(k, d["actual"]),
            expected=metric_text(k, d["expected"]),
        )
    return text


def p_text(p: float) -> str:
    """``p < 0.001`` or ``p = 0.0012``."""
    text = fmt(p, "p_value")
    return f"p {text}" if text.startswith("<") else f"p = {text}"


# alert levels, what needs someone now first (the table's order, the finding and action that lead)
SEVERITY_RANK = {"critical": 0, "warning": 1, "info": 2}


def alert_findings(recs: list[dict]) -> list[str]:
    """The finding that leads the summary when an alert fired: the model's most severe alert
    (else a rule's), and how many more."""
    if not recs:
        return []
    # an anomaly (or a day without data) leads: it says what was expected and what moved
    first = sorted(
        recs,
        key=lambda r: (
            r["kind"] not in ("anomaly", "no_data"),
            SEVERITY_RANK.get(r["severity"], 3),
            r["day"],
        ),
    )[0]
    more = len(recs) - 1
    tail = (sep() + w("alerts.finding_more", n=fmt(more, "count"), s=_plural(more))) if more else ""
    return [w("alerts.finding", first=alert_sentence(first), more=tail)]


def alert_action(recs: list[dict]) -> list[Action]:
    """The action that leads when a critical or warning alert fired: look into the most severe
    (then the earliest) first; an info alert asks for nothing before the monitor's own rules."""
    urgent = sorted(
        (x for x in recs if x["severity"] in ("critical", "warning")),
        key=lambda x: (SEVERITY_RANK[x["severity"]], x["day"]),
    )
    if not urgent:
        return []
    more = len(urgent) - 1
    tail = (sep() + w("alerts.action_more", n=fmt(more, "count"))) if more else ""
    return [
        Action(
            w("alerts.action", first=alert_sentence(urgent[0])) + tail,
            w("alerts.action_rule", severity=w(f"alerts.severity.{urgent[0]['severity']}")),
        )
    ]


def alerts_lead(recs: list[dict], days: list[str], alpha: float) -> str:
    n = len(recs)
    if n:
        return w("alerts.lead_fired", n=fmt(n, "count"), s=_plural(n), days=days_text(days))
    return w("alerts.lead_none", days=days_text(days), level=level_text(alpha))


def alerts_sending(recs: list[dict], quiet_days: int) -> str:
    """What a run with delivery set sends, and what the quiet period holds back (already sent on
    which days): the records' ``status`` (:func:`analysis_lib.analyses.alerts.quiet`)."""
    if not recs:
        return ""
    new = [r for r in recs if r.get("status") != "suppressed"]
    old = [r for r in recs if r.get("status") == "suppressed"]
    if not old:
        return w("alerts.sending_all", n=fmt(len(new), "count"))
    return w(
        "alerts.sending_mixed" if new else "alerts.sending_none",
        new=fmt(len(new), "count"),
        old=fmt(len(old), "count"),
        s=_plural(len(old)),
        dates=w("list_sep").join(sorted({r["sent_on"] for r in old})),
        quiet=fmt(quiet_days, "count"),
    )


def delivery_missing(missing: list[dict]) -> str:
    """Why a delivery that is set has no destination, from what the runner found
    (:func:`analysis_lib.run.notify.readiness`): "WORKBOOK_ALERT_URLS is not set"."""
    return w("list_sep").join(w(f"alerts.missing.{m['kind']}", name=m["name"]) for m in missing)


def send_status(rec: dict, delivery: bool, missing: str | None = None) -> str:
    """An alert's line in the table's last column: to be sent with this run (or not, without a
    delivery, or with one that has no destination: ``missing`` says why), or already sent on its
    day."""
    if rec.get("status") == "suppressed":
        return w("alerts.send.suppressed", day=rec["sent_on"])
    if delivery and missing:
        return w("alerts.send.not_sent_missing", why=missing)
    return w("alerts.send.to_send" if delivery else "alerts.send.not_sent")


def alert_subject(recs: list[dict], title: str, days: list[str]) -> str:
    """The message's subject: the worst severity, the report's title, how many alerts, when."""
    order = ["critical", "warning", "info"]
    worst = min((r["severity"] for r in recs), key=order.index, default="info")
    n = len(recs)
    return w(
        "alerts.subject",
        severity=w(f"alerts.severity.{worst}"),
        title=title,
        n=fmt(n, "count"),
        s=_plural(n),
        days=days_text(days),
    )


def alerts_method(alpha: float, history_days: int) -> str:
    quarter = alpha * 91
    return w(
        "alerts.method",
        level=level_text(alpha),
        history=fmt(history_days, "count"),
        rate=fmt(alpha, "pct") if alpha >= 0.001 else str(alpha),
        quarter=fmt(quarter, "ratio"),
        s="" if abs(quarter - 1) < 1e-9 else "s",
    )
