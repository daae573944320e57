"""Alerts a cron job can run every day (issue 21, second part): a rolling period resolved once per
run against today in the shop's time zone (every notebook's ``period``), and the quiet period
decided before the report is rendered, so the report says which alerts this run sends and which
were already sent on which day, and the delivery sends exactly what results.json marks.

"Today" is frozen in these tests: ``WORKBOOK_TODAY`` (what a replay uses) for runs through the
CLI, or the clock :func:`analysis_lib.params.base._now` replaced, to put "now" on another day in
the shop's zone than in UTC.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from pathlib import Path

import pytest
import yaml
from bs4 import BeautifulSoup

from analysis_lib.analyses import alerts as A
from analysis_lib.errors import ParamsError
from analysis_lib.params import base, loading
from analysis_lib.present.context import use
from analysis_lib.present.narrative import kpi_monitor as N
from analysis_lib.run import notify
from tests.conftest import SCREENSHOTS
from tests.test_runner import ROOT, workbook

KPI = {"notebook": "kpi_monitor", "title": "t", "data": {"url": "data/sample"}, "grain": "day"}
FUNNEL = {
    "notebook": "funnel",
    "title": "t",
    "data": {"url": "data/sample"},
    "steps": ["page_view", "add_to_cart", "purchase"],
}


def _validate(doc: dict, period, **data) -> base.Period:
    d = dict(doc, period=period)
    d["data"] = dict(doc["data"], **data)
    return loading.validate(d, "daily.yaml").period


def _error(doc: dict, period) -> str:
    with pytest.raises(ParamsError) as e:
        _validate(doc, period)
    return str(e.value)


# --- the rolling period --------------------------------------------------------------------------


@pytest.mark.parametrize("doc", [KPI, FUNNEL], ids=["kpi_monitor", "funnel"])
def test_rolling_period_resolves_against_today(doc, monkeypatch):
    monkeypatch.setenv("WORKBOOK_TODAY", "2025-01-23")
    day = dt.date
    cases = {
        "28d": ({"last": "28d"}, day(2024, 12, 26), day(2025, 1, 22)),
        "28 days": ({"last": "28 days"}, day(2024, 12, 26), day(2025, 1, 22)),
        "4w today": ({"last": "4w", "end": "today"}, day(2024, 12, 27), day(2025, 1, 23)),
        "3m": ({"last": "3m"}, day(2024, 10, 23), day(2025, 1, 22)),
        "1 month": ({"last": "1 month"}, day(2024, 12, 23), day(2025, 1, 22)),
        "1d": ({"last": "1d"}, day(2025, 1, 22), day(2025, 1, 22)),
        "start to yesterday": (
            {"start": "2025-01-01", "end": "yesterday"},
            day(2025, 1, 1),
            day(2025, 1, 22),
        ),
        "fixed end": ({"last": "7d", "end": "2025-01-10"}, day(2025, 1, 4), day(2025, 1, 10)),
        "fixed": ({"start": "2025-01-01", "end": "2025-01-05"}, day(2025, 1, 1), day(2025, 1, 5)),
    }
    for name, (period, start, end) in cases.items():
        p = _validate(doc, period)
        assert (p.start, p.end) == (start, end), name


def test_rolling_period_is_the_shops_yesterday(monkeypatch, tmp_path):
    """21:00 UTC on 2025-01-22 is already the 23rd in Shanghai: its yesterday is the 22nd, UTC's
    the 21st; a shop profile's zone counts as the params' own."""
    monkeypatch.delenv("WORKBOOK_TODAY", raising=False)
    instant = dt.datetime(2025, 1, 22, 21, 0, tzinfo=dt.UTC)
    monkeypatch.setattr(base, "_now", lambda tz: instant.astimezone(tz))
    assert _validate(KPI, {"last": "7d"}, timezone="Asia/Shanghai").end == dt.date(2025, 1, 22)
    assert _validate(KPI, {"last": "7d"}).end == dt.date(2025, 1, 21)
    assert _validate(KPI, {"last": "7d"}, timezone="America/New_York").end == dt.date(2025, 1, 21)
    # a shop profile's zone, merged before the period is resolved
    prof = tmp_path / "shop.yaml"
    prof.write_text(
        yaml.safe_dump(
            {"shop": {"name": "s", "timezone": "Asia/Shanghai"}, "data": {"url": "data/sample"}}
        )
    )
    params = tmp_path / "daily.yaml"
    doc = {k: v for k, v in KPI.items() if k != "data"}
    params.write_text(yaml.safe_dump(dict(doc, shop="shop.yaml", period={"last": "7d"})))
    assert loading.load(params).period.end == dt.date(2025, 1, 22)


def test_rolling_period_resolved_once_and_written_as_dates(monkeypatch):
    """The params a run injects into the notebook hold the dates: the notebook's own
    validation, later (past midnight even), does not move them."""
    monkeypatch.setenv("WORKBOOK_TODAY", "2025-01-23")
    d = dict(KPI, period={"last": "28d"})
    injected = loading.to_notebook(loading.validate(d, "daily.yaml"))
    assert injected["period"] == {"start": "2024-12-26", "end": "2025-01-22"}
    monkeypatch.setenv("WORKBOOK_TODAY", "2025-01-24")
    again = loading.validate(injected, "params").period
    assert (again.start, again.end) == (dt.date(2024, 12, 26), dt.date(2025, 1, 22))
    # the next morning's run of the same file is the next period
    assert loading.validate(d, "daily.yaml").period.end == dt.date(2025, 1, 23)


def test_rolling_period_refuses_bad_values_in_one_line(monkeypatch):
    monkeypatch.setenv("WORKBOOK_TODAY", "2025-01-23")
    cases = {
        "28x": ("field 'period.last': '28x': unknown unit 'x'", {"last": "28x"}),
        "typo unit": ("unknown unit 'dyas' (did you mean '28d'?)", {"last": "28 dyas"}),
        "no unit": ("field 'period.last': has no unit: write 28d (days)", {"last": 28}),
        "zero": ("'0d' is empty: a period has at least one day", {"last": "0d"}),
        "huge": ("longer than a hundred years", {"last": "99999999d"}),
        "typo end": (
            "field 'period': end 'yestrday' is not a date (YYYY-MM-DD), 'yesterday' or 'today' "
            "(did you mean 'yesterday'?)",
            {"start": "2025-01-01", "end": "yestrday"},
        ),
        "word start": (
            "field 'period': start 'today' is not a date",
            {"start": "today", "end": "2025-01-02"},
        ),
        "both": (
            "give 'last' (a length to the end) or 'start', not both",
            {"last": "28d", "start": "2025-01-01"},
        ),
        "typo key": ("field 'period': unknown key 'lst' (did you mean 'last'?)", {"lst": "28d"}),
        "end before": (
            "end 2025-01-01 is before start",
            {"start": "2025-02-01", "end": "2025-01-01"},
        ),
    }
    for name, (want, period) in cases.items():
        msg = _error(KPI, period)
        assert msg.startswith("daily.yaml: ") and "\n" not in msg, name
        assert want in msg, (name, msg)
    monkeypatch.setenv("WORKBOOK_TODAY", "23.01.2025")
    assert "WORKBOOK_TODAY='23.01.2025': not a date (YYYY-MM-DD)" in _error(KPI, {"last": "7d"})


def test_bad_rolling_period_exits_2_in_one_line(tmp_path, cli_env):
    p = tmp_path / "daily.yaml"
    p.write_text(yaml.safe_dump(dict(KPI, period={"last": "4 wekes"})))
    r = workbook("validate", p, env=cli_env)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "did you mean '4w'?" in lines[0], r.stderr


def test_rolling_period_past_the_data_says_how_to_replay(tmp_path, cli_env):
    """A rolling period run after the data ends (the demo's sample shop today) fails in one line
    that names the rolling length and the replay switch, not only the dates."""
    p = tmp_path / "daily.yaml"
    p.write_text(yaml.safe_dump(dict(KPI, period={"last": "4w"})))
    r = workbook("validate", p, env=dict(cli_env, WORKBOOK_TODAY="2030-01-02"))
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert "between 2029-12-05 and 2030-01-01" in lines[0], lines[0]
    assert "'last: 4w' is the 4 weeks to yesterday" in lines[0], lines[0]
    assert "WORKBOOK_TODAY=YYYY-MM-DD" in lines[0], lines[0]


# --- the quiet period, decided before the report ---------------------------------------------------


def test_quiet_marks_repeats_with_the_day_they_were_sent():
    recs = [{"key": "k", "day": d} for d in ("2025-01-14", "2025-01-15", "2025-01-18")]
    recs.append({"key": "other", "day": "2025-01-15"})
    state = A.quiet(recs, {"other": "2025-01-10"}, 3)
    assert [(r["status"], r.get("sent_on")) for r in recs] == [
        ("to_send", None),
        ("suppressed", "2025-01-14"),
        ("to_send", None),
        ("to_send", None),  # sent on the 10th: five days before, past the quiet period
    ]
    assert state == {"k": "2025-01-18", "other": "2025-01-15"}


def test_report_words_say_what_is_sent_and_what_was_already():
    recs = [
        {"status": "to_send"},
        {"status": "suppressed", "sent_on": "2025-01-08"},
        {"status": "suppressed", "sent_on": "2025-01-07"},
    ]
    with use(lang="en"):
        assert N.alerts_sending(recs, 3) == (
            "To be sent with this run: 1; already sent on 2025-01-07, 2025-01-08 and not sent "
            "again within the 3-day quiet period: 2."
        )
        assert N.alerts_sending(recs[1:2], 3).startswith(
            "Nothing new to send: 1 alert already sent on 2025-01-08"
        )
        assert N.send_status(recs[1], True) == "already sent on 2025-01-08"
        assert N.send_status(recs[0], True) == "to be sent"
        assert N.send_status(recs[0], False) == "not sent (no delivery set)"
    with use(lang="zh"):
        assert N.alerts_sending(recs[1:2], 3) == (
            "本次无新预警发送：1 条已于 2025-01-08 发送，3 天静默期内不再重复发送。"
        )
        assert N.send_status(recs[1], True) == "已于 2025-01-08 发送"


def test_delivery_sends_exactly_what_results_json_marks(tmp_path, monkeypatch):
    """notify decides nothing: a record marked suppressed is not sent even when the state it
    was judged against is gone; the state kept is the one the notebook saw plus what was
    delivered now."""
    sent: list[list[dict]] = []
    monkeypatch.setattr(
        notify, "_send", lambda urls, params, recs, days, rep: sent.append(recs) or []
    )
    monkeypatch.setenv("WORKBOOK_ALERT_URLS", "json://127.0.0.1:9/x")
    params = loading.validate(
        dict(
            KPI,
            period={"start": "2025-01-01", "end": "2025-01-09"},
            alerts={"quiet_days": 3},
            delivery=[{"env": "WORKBOOK_ALERT_URLS"}],
        ),
        "daily.yaml",
    )
    recs = [
        {"key": "a", "day": "2025-01-09", "status": "to_send"},
        {"key": "b", "day": "2025-01-09", "status": "suppressed", "sent_on": "2025-01-08"},
    ]
    record = {
        "notebook": "kpi_monitor",
        "name": "daily",
        "figures": {
            "alerts": {
                "days": ["2025-01-09"],
                "records": recs,
                "quiet_days": 3,
                "sent_before": {"b": "2025-01-08", "c": "2025-01-01"},
            }
        },
    }
    notify.deliver(params, record, tmp_path)
    assert [[r["key"] for r in batch] for batch in sent] == [["a"]]
    out = json.loads((tmp_path / "results.json").read_text())["alerts"]
    assert [r["status"] for r in out["records"]] == ["delivered", "suppressed"]
    assert out["records"][1]["sent_on"] == "2025-01-08"
    assert out["state"] == {"a": "2025-01-09", "b": "2025-01-08", "c": "2025-01-01"}


# --- a daily run, the next day ---------------------------------------------------------------------


def _daily(tmp: Path, lang: str) -> Path:
    """A daily alerts file on a rolling period: one rule, an orders floor (fewer than 10 orders in
    a day: the sample shop's quiet January has 7 on the 8th and 3 on the 9th), so the next day's
    run holds the same alert, sent the day before."""
    doc = {
        "notebook": "kpi_monitor",
        "title": "数据监控 — 每日预警" if lang == "zh" else "KPI monitor — daily alerts",
        "data": {"url": "data/sample", "timezone": "Asia/Shanghai"},
        "period": {"last": "28d"},
        "lang": lang,
        "currency": "CNY",
        "grain": "day",
        "alerts": {
            "kpis": ["orders"],
            "breakdowns": [],
            "quiet_days": 3,
            "thresholds": [{"rule": "orders < 10", "severity": "warning"}],
        },
        "delivery": [{"env": "WORKBOOK_ALERT_URLS"}],
    }
    p = tmp / f"daily_{lang}.yaml"
    p.write_text(yaml.safe_dump(doc, allow_unicode=True))
    return p


def _text(page: Path) -> str:
    body = page.read_text(encoding="utf-8")
    body = re.sub(r"<style.*?</style>", " ", body, flags=re.S)
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)))


@pytest.mark.slow
@pytest.mark.parametrize(
    ("lang", "first", "again", "to"),
    [
        ("en", "To be sent with this run", "already sent on 2025-01-08", " – "),
        ("zh", "将随本次运行发送", "已于 2025-01-08 发送", " 至 "),
    ],
)
def test_next_days_run_shows_already_sent_and_sends_nothing_new(
    lang, first, again, to, sample_dir, tmp_path, cli_env
):
    """The same params file run two mornings in a row (WORKBOOK_TODAY 2025-01-09, then 10th):
    each run's period is the 28 days to its yesterday (results.json, the report's title line and
    its provenance footer show the dates); the first sends its alerts; the second's report says
    the repeat was already sent on the 8th, its table too, results.json marks it suppressed,
    the index says so and nothing new reaches the webhook."""
    from tests.test_alerts import Webhook

    hook = Webhook()
    out = tmp_path / "reports"
    p = _daily(tmp_path, lang)
    env = dict(cli_env, WORKBOOK_ALERT_URLS=hook.url().replace("hook:s3cr3t-Pa55word@", ""))
    rep = out / "kpi_monitor" / p.stem
    try:
        r = workbook("run", p, "--out", out, env=dict(env, WORKBOOK_TODAY="2025-01-09"))
        assert r.returncode == 0, r.stderr
        res = json.loads((rep / "results.json").read_text())
        assert res["params"]["period"] == {"start": "2024-12-12", "end": "2025-01-08"}
        recs = res["alerts"]["records"]
        assert recs and all(x["status"] == "delivered" for x in recs)
        assert len(hook.payloads) == 1
        text = _text(rep / "report.html")
        assert first in text and f"2024-12-12{to}2025-01-08" in text
        assert '"start": "2024-12-12"' in html.unescape((rep / "report.html").read_text())

        r = workbook("run", p, "--out", out, env=dict(env, WORKBOOK_TODAY="2025-01-10"))
        assert r.returncode == 0, r.stderr
        res = json.loads((rep / "results.json").read_text())
        assert res["params"]["period"] == {"start": "2024-12-13", "end": "2025-01-09"}
        assert res["figures"]["alerts"]["days"] == ["2025-01-09"]
        recs = res["alerts"]["records"]
        rule = [x for x in recs if x["kind"] == "threshold"]
        assert rule and rule[0]["status"] == "suppressed" and rule[0]["sent_on"] == "2025-01-08"
        assert all(x["status"] == "suppressed" for x in recs)
        assert len(hook.payloads) == 1  # nothing new sent
        text = _text(rep / "report.html")
        assert again in text and first not in text
        assert text.count(again) >= 2  # the section's sentence and the table's row
        assert f"2024-12-13{to}2025-01-09" in text
        index = (out / "index.html").read_text()
        assert "not re-sent: quiet period" in index
    finally:
        hook.stop()


@pytest.mark.slow
@pytest.mark.browser
def test_zh_alerts_table_keeps_dates_and_levels_on_one_line(sample_dir, tmp_path, cli_env, browser):
    """The zh alerts table in a real browser: the 日期, 级别 and 通知 columns' header and cells
    each on one line (a Chinese header breaks between any two characters when squeezed); the
    screenshot is saved."""
    from tests import browser as B

    out = tmp_path / "reports"
    p = _daily(tmp_path, "zh")
    doc = yaml.safe_load(p.read_text())
    # the refund spike's sentence with its driver: long enough to squeeze the other columns
    doc["alerts"]["kpis"] = ["orders", "refund_rate", "gmv"]
    doc["alerts"]["breakdowns"] = ["channel", "device"]
    doc["alerts"]["thresholds"].append({"rule": "refund_rate > 0.3", "severity": "critical"})
    p.write_text(yaml.safe_dump(doc, allow_unicode=True))
    r = workbook("run", p, "--out", out, env=dict(cli_env, WORKBOOK_TODAY="2025-01-23"))
    assert r.returncode == 0, r.stderr
    page = out / "kpi_monitor" / p.stem / "report.html"
    got = B.open_page(browser, page)
    B.screenshot(browser, got["height"], SCREENSHOTS / "kpi_monitor__alerts_zh.png")
    lines = browser.execute_script(LINES_JS, ["日期", "级别", "通知"])
    assert lines, "no alerts table found"
    assert all(n == 1 for _, n in lines), lines


# for each header named, that column's header and cells: (text, lines it is set on)
LINES_JS = """
const names = arguments[0];
const table = Array.from(document.querySelectorAll('table')).find(
  t => Array.from(t.querySelectorAll('thead th')).some(th => th.textContent.trim() === names[1]));
if (!table) return [];
const heads = Array.from(table.querySelectorAll('thead th')).map(th => th.textContent.trim());
const lines = el => {
  const r = document.createRange(); r.selectNodeContents(el);
  const tops = new Set(Array.from(r.getClientRects()).map(x => Math.round(x.top)));
  return tops.size;
};
const out = [];
for (const name of names) {
  const i = heads.indexOf(name);
  if (i < 0) { out.push([name, -1]); continue; }
  out.push([name, lines(table.querySelectorAll('thead th')[i])]);
  for (const tr of table.querySelectorAll('tbody tr')) out.push([tr.cells[i].textContent, lines(tr.cells[i])]);
}
return out;
"""


def test_deploy_examples_use_the_rolling_period():
    doc = yaml.safe_load((ROOT / "params" / "kpi_monitor" / "daily_alerts.yaml").read_text())
    assert doc["period"] == {"last": "28d"}
    assert doc["data"]["timezone"]


@pytest.mark.slow
def test_another_notebook_runs_on_a_rolling_period(sample_dir, tmp_path, cli_env):
    """The funnel on the four weeks to yesterday, compared with the four weeks before them
    (``last`` with a fixed ``end``): results.json and the report show the resolved dates."""
    doc = {
        "notebook": "funnel",
        "title": "Funnel — last four weeks",
        "data": {"url": str(sample_dir)},
        "period": {"last": "4w"},
        "compare_period": {"last": "4w", "end": "2025-11-02"},
        "steps": ["page_view", "product_view", "add_to_cart", "checkout", "purchase"],
        "breakdowns": ["device"],
    }
    p = tmp_path / "weeks.yaml"
    p.write_text(yaml.safe_dump(doc))
    out = tmp_path / "reports"
    r = workbook("run", p, "--out", out, env=dict(cli_env, WORKBOOK_TODAY="2025-12-01"))
    assert r.returncode == 0, r.stderr
    res = json.loads((out / "funnel" / "weeks" / "results.json").read_text())
    assert res["params"]["period"] == {"start": "2025-11-03", "end": "2025-11-30"}
    assert res["params"]["compare_period"] == {"start": "2025-10-06", "end": "2025-11-02"}
    text = _text(out / "funnel" / "weeks" / "report.html")
    assert "2025-11-03" in text and "2025-11-30" in text and "last" not in res["params"]["period"]


@pytest.mark.slow
def test_alerts_table_lists_the_most_severe_first(sample_dir, tmp_path, cli_env):
    """The morning after the planted refund spike, the refund rule (critical) and the model's
    refund anomaly (warning) and an early-notice refund rule (info, above 15%) fire on the same
    day: the table reads critical, warning, info from the top, whatever order the detector found
    them in, and the critical one is the first action."""
    doc = yaml.safe_load((ROOT / "params/kpi_monitor/daily_alerts.yaml").read_text())
    doc["alerts"]["thresholds"].insert(0, {"rule": "refund_rate > 0.15", "severity": "info"})
    doc.pop("delivery")
    p = tmp_path / "daily.yaml"
    p.write_text(yaml.safe_dump(doc, allow_unicode=True))
    out = tmp_path / "reports"
    r = workbook("run", p, "--out", out, env=dict(cli_env, WORKBOOK_TODAY="2025-01-23"))
    assert r.returncode == 0, r.stderr
    soup = BeautifulSoup((out / "kpi_monitor" / "daily" / "report.html").read_text(), "html.parser")
    table = next(t for t in soup.find_all("table") if "Severity" in t.get_text())
    heads = [th.get_text(strip=True) for th in table.find_all("th")]
    col = heads.index("Severity")
    levels = [
        [c.get_text(strip=True) for c in tr.find_all(["td", "th"])][col]
        for tr in table.find_all("tr")[1:]
    ]
    rank = {"Critical": 0, "Warning": 1, "Info": 2}
    assert {"Critical", "Warning", "Info"} <= set(levels), levels
    assert levels == sorted(levels, key=rank.__getitem__), levels
    # the critical alert is also the first thing to do, before the monitor's own rules
    todo = [li.get_text(" ", strip=True) for li in soup.select("ol.wb-actions li")]
    assert todo and todo[0].startswith("Look into this first: 2025-01-22: Refund rate"), todo
    assert "alert level Critical" in todo[0] and "1 more urgent alert is in Alerts" in todo[0]
    assert not any("Look into this first" in x for x in todo[1:]), todo
