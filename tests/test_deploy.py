"""The scheduling examples in deploy/ call the CLI with arguments it accepts."""

from __future__ import annotations

import ast
import re
import shlex

from analysis_lib.run.cli import build_parser
from tests.test_runner import ROOT

DEPLOY = ROOT / "deploy"
CALL = re.compile(
    r"workbook(?:\}|\b) (?P<args>(?:run-all|run|index|validate)\b[^\n>|&;\"]*)", re.IGNORECASE
)


def _calls(text: str) -> list[list[str]]:
    return [
        shlex.split(m.group("args").replace("{", "").replace("}", "")) for m in CALL.finditer(text)
    ]


def test_every_cli_call_parses():
    calls = []
    for f in DEPLOY.rglob("*"):
        if f.is_file():
            calls += [(f.name, c) for c in _calls(f.read_text())]
    assert {name for name, _ in calls} >= {"crontab", "workbook.service", "workbook_dag.py"}
    for name, args in calls:
        ns = build_parser().parse_args(args)  # SystemExit on an unknown option
        assert ns.cmd in {"run", "run-all", "index", "validate"}, (name, args)


def test_airflow_dag_is_valid_python():
    ast.parse((DEPLOY / "airflow" / "workbook_dag.py").read_text())


def test_each_scheduler_has_a_daily_alerting_run():
    """Issue 21: cron, systemd and Airflow each run the daily alerts params once a day, with the
    Apprise URLs from the environment (a file or a variable), never written in the example."""
    alerts = "params/kpi_monitor/daily_alerts.yaml"
    texts = {
        "crontab": (DEPLOY / "crontab").read_text(),
        "systemd": (DEPLOY / "workbook-alerts.service").read_text(),
        "airflow": (DEPLOY / "airflow" / "workbook_dag.py").read_text(),
    }
    for name, text in texts.items():
        calls = [c for c in _calls(text) if alerts in c]
        assert calls and all(c[0] == "run" for c in calls), name
        assert "WORKBOOK_ALERT_URLS" in text or "alerts.env" in text, name
        assert "://" not in "".join(
            ln for ln in text.splitlines() if "WORKBOOK_ALERT_URLS=" in ln and "#" not in ln
        ), name
    assert "0 7 * * *" in texts["crontab"] and "0 7 * * *" in texts["airflow"]
    timer = (DEPLOY / "workbook-alerts.timer").read_text()
    assert "OnCalendar=*-*-* 07:00:00" in timer
    # the params file the schedulers call exists and names its URLs by reference
    doc = (ROOT / alerts).read_text()
    assert "env: WORKBOOK_ALERT_URLS" in doc
    # Airflow's task replays its scheduled day (a retry after midnight keeps its period)
    assert '"WORKBOOK_TODAY": "{{ data_interval_end | ds }}"' in texts["airflow"]


def test_daily_alerts_params_roll_with_the_day(monkeypatch):
    """The file the schedulers run every morning needs no editing: its period is the 28 days
    to yesterday in the shop's zone, resolved when the run starts."""
    from analysis_lib.params import loading

    monkeypatch.setenv("WORKBOOK_TODAY", "2026-03-02")
    p = loading.load(ROOT / "params/kpi_monitor/daily_alerts.yaml")
    assert (str(p.period.start), str(p.period.end)) == ("2026-02-02", "2026-03-01")
    assert p.data.timezone == "Asia/Shanghai" and p.alerts.judge == "last_day"
    monkeypatch.setenv("WORKBOOK_TODAY", "2026-03-03")
    assert str(loading.load(ROOT / "params/kpi_monitor/daily_alerts.yaml").period.end) == (
        "2026-03-02"
    )
