"""Anomaly alerts on the daily KPIs (issue 21): the detector against the anomalies planted in the
sample shop and on simulated series without any, the rules of params, and delivery end to end
through Apprise to a local SMTP server (aiosmtpd) and a local webhook on 127.0.0.1.

How false alerts are counted: over the 90 days 2024-12-01 .. 2025-02-28 judged in a backfill
(models refitted every 28 days on the history before), every KPI watched, the shop's total and
each channel and device; an alert on a day and KPI that no planted anomaly touches is false, and
a KPI-day counts once however many of its series fired.
"""

from __future__ import annotations

import datetime as dt
import email
import http.server
import json
import os
import socket
import subprocess
import sys
import threading
from email import policy
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from analysis_lib.analyses import alerts as A
from analysis_lib.core import data
from analysis_lib.errors import ParamsError
from analysis_lib.params import loading
from analysis_lib.sample import sample_data
from tests.conftest import ROOT, SAMPLE_SEED

QUARTER = (dt.date(2024, 12, 1), dt.date(2025, 2, 28))
SECRET = "s3cr3t-Pa55word"


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> tuple[Path, dict]:
    """The sample shop (scale s, the tests' seed) with its planted anomalies, in a folder of
    this module's own (data/sample is shared)."""
    out = tmp_path_factory.mktemp("alerts") / "sample"
    truth = sample_data.generate(out, "s", SAMPLE_SEED)
    return out, truth


@pytest.fixture(scope="module")
def backfill(shop) -> A.Alerts:
    src = data.connect(str(shop[0]))
    days = list(pd.date_range(*QUARTER, freq="D").date)
    return A.detect(src, days)


def _planted_days(truth) -> list[tuple[dict, dt.date]]:
    out = []
    for a in truth["anomalies"]:
        for d in pd.date_range(a["start"], a["end"], freq="D").date:
            out.append((a, d))
    return out


def _finds(a: dict, day: dt.date, recs: list[dict]) -> bool:
    """Whether an alert on ``day`` is the planted anomaly ``a``."""
    on = [r for r in recs if r["day"] == day.isoformat()]
    kind = a["kind"]
    if kind == "missing_day":
        return any(r["kind"] == "no_data" and set(r["tables"]) == {"orders", "events"} for r in on)
    if kind == "outage":
        return any(
            (r["kind"] == "no_data" and r["tables"] == ["orders"])
            or (r["kind"] == "anomaly" and r["kpi"] in a["kpis"] and r["direction"] == "down")
            for r in on
        )
    if kind == "refund_spike":
        return any(r["kind"] == "anomaly" and r["kpi"] == "refund_rate" for r in on)
    # a channel that dried up: that channel's series, or the total with it as the driver
    hit = (a["dimension"], a["value"])
    for r in on:
        if r["kind"] != "anomaly" or r["direction"] != "down":
            continue
        drv = r.get("driver") or {}
        if (r["dimension"], r["value"]) == hit or (drv.get("dimension"), drv.get("value")) == hit:
            return True
    return False


def test_truth_states_the_planted_anomalies(shop):
    out, truth = shop
    kinds = {a["kind"] for a in truth["anomalies"]}
    campaigns = pd.read_parquet(out / "campaigns.parquet")
    assert kinds == {"outage", "channel_drop", "refund_spike", "missing_day"}
    assert truth["generator_version"] == sample_data.GENERATOR_VERSION
    # away from every other planted truth: campaign windows (pre-heat to the end of the post
    # window) and the 16 weeks before a pre-heat, the experiment, the funnel leak
    for a, d in _planted_days(truth):
        for c in campaigns.itertuples():
            pre = pd.Timestamp(c.preheat_start) - pd.Timedelta(weeks=16)
            post = pd.Timestamp(c.end_date) + pd.Timedelta(days=14)
            assert not pre <= pd.Timestamp(d) <= post, (a["kind"], d)
        e = truth["experiment"]
        assert not pd.Timestamp(e["start"]) <= pd.Timestamp(d) <= pd.Timestamp(e["end"])
        assert pd.Timestamp(d) < pd.Timestamp(truth["funnel"]["leak"]["start"])


def test_rows_outside_the_anomaly_days_are_the_shops(shop, tmp_path):
    """The anomalies come from a stream of their own: every order and event on another day is
    the row the generator wrote before they were planted (version 1's draws)."""
    from analysis_lib.sample import anomalies

    out, truth = shop
    plain = tmp_path / "plain"
    saved = list(anomalies.ANOMALIES)
    anomalies.ANOMALIES.clear()
    try:
        sample_data.generate(plain, "s", SAMPLE_SEED)
    finally:
        anomalies.ANOMALIES.extend(saved)
    days = {d.isoformat() for _, d in _planted_days(truth)}
    for table, col in (("orders", "order_ts"), ("events", "event_ts")):
        a, b = pd.read_parquet(plain / table), pd.read_parquet(out / table)
        keep_a = ~a[col].dt.strftime("%Y-%m-%d").isin(days)
        keep_b = ~b[col].dt.strftime("%Y-%m-%d").isin(days)
        pd.testing.assert_frame_equal(
            a[keep_a].reset_index(drop=True), b[keep_b].reset_index(drop=True)
        )
        assert len(b) < len(a)  # and the anomaly days did change


@pytest.mark.slow
def test_detector_finds_planted_anomalies_with_few_false_alerts(shop, backfill):
    """At daily grain: at least 90% of the planted anomaly-days found; at most one false alert
    per KPI in the quarter (counted as the module docstring says)."""
    _, truth = shop
    recs = A.records(backfill, {})
    planted = _planted_days(truth)
    found = [(a["kind"], d) for a, d in planted if _finds(a, d, recs)]
    assert len(found) / len(planted) >= 0.9, (found, planted)
    planted_days = {d for _, d in planted}
    false: dict[str, set[str]] = {}
    for r in recs:
        if dt.date.fromisoformat(r["day"]) in planted_days:
            continue
        false.setdefault(r.get("kpi", r["kind"]), set()).add(r["day"])
    assert all(len(v) <= 1 for v in false.values()), false
    assert "no_data" not in false


def test_daily_run_costs_seconds_and_drivers_point_at_the_channel(shop):
    """A daily run fits once per series (one block); the channel drop's total alert names the
    channel as its likely driver."""
    import time

    src = data.connect(str(shop[0]))
    t0 = time.perf_counter()
    a = A.detect(src, [dt.date(2025, 1, 16)])
    secs = time.perf_counter() - t0
    assert secs < 30  # seconds on a busy 2-core machine; the fits are ~5 ms each
    assert all(n >= A.MIN_HISTORY for n in a.fitted.values())
    uv = [x for x in a.anomalies if x.judged.kpi == "uv" and not x.judged.dimension]
    search = [
        x for x in a.anomalies if x.judged.dimension == "channel" and x.judged.value == "search"
    ]
    assert uv or search
    if uv:
        assert (uv[0].driver.dimension, uv[0].driver.value) == ("channel", "search")


# --- simulated series without anomalies ------------------------------------------------------------


def _simulated(rng, n_days: int) -> pd.DataFrame:
    days = pd.date_range("2023-01-02", periods=n_days, freq="D")
    t = np.arange(n_days) / 365.25
    weekly = np.where(days.dayofweek >= 5, 1.25, 1.0)
    uv = rng.poisson(400 * weekly * (1 + 0.2 * t))
    p = 0.05 * (1 + 0.1 * (days.dayofweek == 0))
    buyers = rng.binomial(uv, p)
    orders = buyers.copy()
    values = [rng.gamma(2.0, 60.0, k) for k in orders]
    gmv = np.array([v.sum() for v in values])
    refunded = np.array([v[rng.random(len(v)) < 0.06].sum() for v in values])
    return pd.DataFrame(
        {
            "day": days,
            "gmv": gmv,
            "orders": orders.astype(float),
            "buyers": buyers.astype(float),
            "refunded_gmv": refunded,
            "gmv_sq": np.array([(v * v).sum() for v in values]),
            "uv": uv.astype(float),
        }
    ), np.concatenate(values[: n_days - 91])


@pytest.mark.slow
@pytest.mark.parametrize("kpi", ["orders", "uv", "conversion_rate", "refund_rate", "aov", "gmv"])
def test_false_alert_rate_on_simulated_series_within_nominal(kpi):
    """20 simulated shops without anomalies (Poisson visits with a trend and a weekend, binomial
    buyers, gamma order values, 6% refunds), each fitted on 400 days and judging the next 91:
    n = 1,820 KPI-days at a nominal rate of 2%. The observed rate must be within the nominal one
    plus three standard errors (0.020 + 0.010)."""
    alpha, n_series, tol = 0.02, 20, 3.0
    rng = np.random.default_rng(7)
    promo = pd.DataFrame(columns=list(A.PHASES), dtype=float)
    hits = n = 0
    for _ in range(n_series):
        df, values = _simulated(rng, 491)
        hist, judge = df.iloc[:400], df.iloc[400:]
        f = A.fit(kpi, hist, promo)
        assert f is not None
        got = A.predict(f, judge, promo, alpha)
        if kpi == "gmv":
            fo = A.fit("orders", hist, promo)
            got = A.compound_gmv(fo, got, values[: int(hist["orders"].sum())], alpha, promo)
        hits += sum(j.anomaly for j in got)
        n += len(got)
    rate = hits / n
    assert rate <= alpha + tol * np.sqrt(alpha * (1 - alpha) / n), (kpi, rate, n)


# --- params -------------------------------------------------------------------------------------


def _params(tmp: Path, data_url: str, **alerts) -> Path:
    doc = {
        "notebook": "kpi_monitor",
        "title": "Daily alerts",
        "data": {"url": data_url},
        "period": {"start": "2025-01-01", "end": "2025-01-22"},
        "lang": "en",
        "currency": "CNY",
        "grain": "day",
        "alerts": {"quiet_days": 3, **alerts},
        "delivery": [{"env": "WORKBOOK_ALERT_URLS"}],
    }
    p = tmp / "daily.yaml"
    p.write_text(yaml.safe_dump(doc, allow_unicode=True))
    return p


def _load_error(path: Path) -> str:
    with pytest.raises(ParamsError) as e:
        loading.load(path)
    return str(e.value)


def test_params_refuse_a_url_in_the_file_without_repeating_it(tmp_path):
    p = _params(tmp_path, "data/sample")
    doc = yaml.safe_load(p.read_text())
    doc["delivery"] = [f"mailto://ops:{SECRET}@mail.example.com"]
    p.write_text(yaml.safe_dump(doc))
    msg = _load_error(p)
    assert "field 'delivery'" in msg and "by reference" in msg
    assert SECRET not in msg


def test_params_did_you_mean_and_rules(tmp_path):
    p = _params(tmp_path, "data/sample", kpis=["refund_rat"])
    assert "did you mean 'refund_rate'" in _load_error(p)
    p = _params(tmp_path, "data/sample", quiet_day=2)
    assert "unknown key 'alerts.quiet_day' (did you mean 'quiet_days'?)" in _load_error(p)
    p = _params(tmp_path, "data/sample", thresholds=[{"rule": "refund_rate >> 8"}])
    assert "not a rule like" in _load_error(p)
    p = _params(tmp_path, "data/sample", judge={"start": "2024-12-01", "end": "2025-01-22"})
    assert "must lie within the period" in _load_error(p)
    p = _params(tmp_path, "data/sample", thresholds=[{"rule": "refund_rate > 8%"}])
    assert loading.load(p).alerts.thresholds[0].parts == ("refund_rate", ">", 0.08)
    doc = yaml.safe_load(p.read_text())
    doc["delivery"] = [{"file": "params/urls.txt"}]
    p.write_text(yaml.safe_dump(doc))
    assert "absolute path" in _load_error(p)


def test_thresholds_and_targets_month_to_date(shop):
    src = data.connect(str(shop[0]))
    a = A.detect(
        src,
        [dt.date(2025, 1, 22)],
        kpis=["refund_rate"],
        dims=(),
        thresholds=[("refund_rate", ">", 0.08)],
        targets=[("gmv", 0.5)],  # a bar no month meets: the target rule must fire
    )
    assert [t.kpi for t in a.thresholds] == ["refund_rate"]
    tg = a.targets[0]
    tot = a.history[(a.history["dimension"] == "")].set_index("day")
    assert tg.actual == pytest.approx(tot.loc["2025-01-01":"2025-01-22", "gmv"].sum())
    target = pd.read_parquet(shop[0] / "targets.parquet")
    month = target[(target["period"] == "2025-01") & (target["metric"] == "gmv")]
    assert tg.target == pytest.approx(float(month["target_value"].iloc[0]) * 22 / 31)


def test_quiet_period_suppresses_a_repeat():
    recs = [
        {"key": "anomaly:uv:channel:search:down", "day": d}
        for d in ("2025-01-14", "2025-01-15", "2025-01-16", "2025-01-18")
    ]
    state = A.quiet(recs, {}, 3)
    assert [r["status"] for r in recs] == ["to_send", "suppressed", "suppressed", "to_send"]
    assert state == {"anomaly:uv:channel:search:down": "2025-01-18"}
    again = [{"key": "anomaly:uv:channel:search:down", "day": "2025-01-19"}]
    A.quiet(again, state, 3)
    assert again[0]["status"] == "suppressed"


# --- delivery end to end ------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mailbox:
    """aiosmtpd on 127.0.0.1: the messages it received."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        self.messages: list[email.message.EmailMessage] = []
        outer = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                outer.messages.append(
                    email.message_from_bytes(envelope.content, policy=policy.default)
                )
                return "250 OK"

        self.port = _free_port()
        self.ctl = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.ctl.start()

    def url(self) -> str:
        return f"mailto://127.0.0.1:{self.port}?from=alerts@example.com&to=ops@example.com"

    def stop(self):
        self.ctl.stop()


class Webhook:
    """An HTTP server on 127.0.0.1: the JSON payloads posted to it."""

    def __init__(self):
        self.payloads: list[dict] = []
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", 0))
                outer.payloads.append(json.loads(self.rfile.read(n)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *a):
                pass

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def url(self) -> str:
        # a password in the URL: it must reach no output file
        return f"json://hook:{SECRET}@127.0.0.1:{self.port}/alerts"

    def stop(self):
        self.srv.shutdown()


@pytest.fixture()
def receivers():
    m, w = Mailbox(), Webhook()
    yield m, w
    m.stop()
    w.stop()


def _run(params: Path, out: Path, data_url: str, urls: str | None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop("WORKBOOK_NOTEBOOKS", None)
    env.pop("WORKBOOK_ALERT_URLS", None)
    if urls is not None:
        env["WORKBOOK_ALERT_URLS"] = urls
    return subprocess.run(
        [sys.executable, "-m", "analysis_lib.run.cli", "run", str(params), "--out", str(out)]
        + ["--data", data_url],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=600,
    )


def _no_secret_anywhere(out: Path, *texts: str) -> None:
    for f in out.rglob("*"):
        if f.is_file():
            assert SECRET.encode() not in f.read_bytes(), f
    for t in texts:
        assert SECRET not in t


def _day_params(tmp: Path, day: str, name: str = "daily", lang: str = "en") -> Path:
    doc = {
        "notebook": "kpi_monitor",
        "title": "数据监控 — 每日预警" if lang == "zh" else "KPI monitor — daily alerts",
        "data": {"url": "data/sample"},
        "period": {"start": day[:8] + "01", "end": day},
        "lang": lang,
        "currency": "CNY",
        "grain": "day",
        "alerts": {
            "quiet_days": 3,
            "thresholds": [{"rule": "refund_rate > 0.5", "severity": "critical"}],
        },
        "delivery": [{"env": "WORKBOOK_ALERT_URLS"}],
    }
    p = tmp / f"{name}.yaml"
    p.write_text(yaml.safe_dump(doc, allow_unicode=True))
    return p


@pytest.mark.slow
def test_delivery_end_to_end_mail_webhook_failure_and_quiet(shop, receivers, tmp_path):
    """The refund spike's day: the e-mail arrives with the subject, the alert in the body and
    the report attached; the webhook gets the same in JSON; a second run of the same day sends
    nothing (quiet period); a closed port is one line on stderr, the report stays, exit 0; no
    output file holds the webhook's password."""
    mail, hook = receivers
    out = tmp_path / "reports"
    p = _day_params(tmp_path, "2025-01-22")
    urls = f"{mail.url()} {hook.url()}"
    r = _run(p, out, str(shop[0]), urls)
    assert r.returncode == 0, r.stderr
    assert len(mail.messages) == 1 and len(hook.payloads) == 1
    msg = mail.messages[0]
    assert msg["Subject"].startswith("[Critical] KPI monitor — daily alerts: 2 alerts, 2025-01-22")
    body = msg.get_body(preferencelist=("plain",)).get_content()
    assert "2025-01-22: Refund rate" in body and "expected" in body and "p < 0.001" in body
    assert "above 50.0% (rule)" in body
    att = [part for part in msg.iter_attachments()]
    assert [a.get_filename() for a in att] == ["report.html"]
    assert b"<html" in att[0].get_payload(decode=True)
    payload = hook.payloads[0]
    assert payload["title"] == msg["Subject"]
    assert "Refund rate" in payload["message"] and "report.html" in payload["message"]
    res = json.loads((out / "kpi_monitor" / "daily" / "results.json").read_text())
    assert {x["status"] for x in res["alerts"]["records"]} == {"delivered"}
    assert res["alerts"]["delivered_to"] == ["json", "mailto"]
    index = (out / "index.html").read_text()
    # the index is written by the CLI after the run: it shows the alerts and what became of them
    assert "Alerts: 2" in index and "2 sent" in index

    # the same day again: nothing re-sent
    r = _run(p, out, str(shop[0]), urls)
    assert r.returncode == 0, r.stderr
    assert len(mail.messages) == 1 and len(hook.payloads) == 1
    res = json.loads((out / "kpi_monitor" / "daily" / "results.json").read_text())
    assert {x["status"] for x in res["alerts"]["records"]} == {"suppressed"}

    # a destination that does not answer: one line, report kept, exit 0
    dead = f"json://hook:{SECRET}@127.0.0.1:{_free_port()}/alerts"
    p2 = _day_params(tmp_path, "2025-01-22", name="dead")
    r = _run(p2, out, str(shop[0]), dead)
    assert r.returncode == 0, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if "not delivered" in ln]
    assert len(lines) == 1 and "(json)" in lines[0] and "report is kept" in lines[0]
    assert (out / "kpi_monitor" / "dead" / "report.html").is_file()
    res = json.loads((out / "kpi_monitor" / "dead" / "results.json").read_text())
    assert {x["status"] for x in res["alerts"]["records"]} == {"failed"}
    _no_secret_anywhere(out, r.stdout, r.stderr)


@pytest.mark.slow
def test_daily_scheduled_runs_alert_each_planted_anomaly_and_nothing_else(
    shop, receivers, tmp_path
):
    """The done-when of issue 21: the KPI monitor run once a day (the period's end moving one
    day each morning, the same report name, so the quiet period holds across runs) over the
    planted anomalies' days and two ordinary days sends an alert for each planted anomaly to
    the mailbox and the webhook, and nothing on the ordinary days."""
    mail, hook = receivers
    out = tmp_path / "reports"
    _, truth = shop
    urls = f"{mail.url()} {hook.url()}"
    ordinary = ["2025-01-08", "2025-01-29"]
    planted = {a["start"]: a for a in truth["anomalies"]}
    days = sorted(set(ordinary) | {d.isoformat() for _, d in _planted_days(truth)})
    sent_on: dict[str, int] = {}
    for day in days:
        before = len(mail.messages)
        p = _day_params(tmp_path, day)
        r = _run(p, out, str(shop[0]), urls)
        assert r.returncode == 0, r.stderr
        sent_on[day] = len(mail.messages) - before
        assert len(hook.payloads) == len(mail.messages)
    for day in ordinary:
        assert sent_on[day] == 0, day
    for start, a in planted.items():
        assert sent_on[start] == 1, (a["kind"], start)
    # the channel drop's later days: the same ongoing alert, not re-sent
    assert sent_on["2025-01-15"] == 0
    _no_secret_anywhere(out)


def test_a_shop_without_events_or_campaigns(shop, tmp_path):
    """Most order exports have no events table: UV and conversion are not watched, the outage
    and the missing day are both days without orders (no visits known to tell them apart)."""
    out = tmp_path / "orders_only"
    out.mkdir()
    for p in shop[0].iterdir():
        if p.name.split(".")[0] not in ("events", "campaigns"):
            (out / p.name).symlink_to(p)
    src = data.connect(str(out))
    days = [dt.date(2024, 12, 14), dt.date(2025, 1, 22), dt.date(2025, 2, 5)]
    a = A.detect(src, days, dims=("channel",))
    assert [(n.day, n.tables, n.visits) for n in a.no_data] == [
        (days[0], ("orders",), False),
        (days[2], ("orders",), False),
    ]
    assert {k for k, _, _ in a.fitted} == {"gmv", "orders", "buyers", "aov", "refund_rate"}
    assert [(x.judged.day, x.judged.kpi) for x in a.anomalies] == [(days[1], "refund_rate")]
