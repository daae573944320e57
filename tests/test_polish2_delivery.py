"""Delivery set in params but its environment variable unset: the runner finds it before the
notebook renders (run/notify.readiness, passed as ``alerts_delivery``), so the report says "not
sent: WORKBOOK_ALERT_URLS is not set" where it said "to be sent", and results.json (the
notebook's records and the delivery's) says not_sent alike (en, zh). The words are checked
without a run too."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from analysis_lib.present.context import use
from analysis_lib.present.narrative import kpi_monitor as N
from analysis_lib.run import notify
from tests.test_alerts_ops import _daily, _text
from tests.test_runner import workbook


def test_readiness_names_what_is_missing_and_never_a_url(monkeypatch, tmp_path):
    ref = SimpleNamespace(env="WB_TEST_URLS", file=None)
    params = SimpleNamespace(delivery=[ref])
    monkeypatch.delenv("WB_TEST_URLS", raising=False)
    assert notify.readiness(params) == {
        "set": True,
        "ready": False,
        "missing": [{"kind": "env", "name": "WB_TEST_URLS"}],
    }
    monkeypatch.setenv("WB_TEST_URLS", "json://user:s3cret@127.0.0.1:9/x")
    got = notify.readiness(params)
    assert got == {"set": True, "ready": True, "missing": []}
    assert "s3cret" not in json.dumps(got)
    assert notify.readiness(SimpleNamespace(delivery=None))["set"] is False
    with use(lang="en"):
        why = N.delivery_missing([{"kind": "env", "name": "WB_TEST_URLS"}])
        assert why == "WB_TEST_URLS is not set"
        assert (
            N.send_status({"status": "not_sent"}, True, why) == "not sent: WB_TEST_URLS is not set"
        )
    with use(lang="zh"):
        why = N.delivery_missing([{"kind": "env", "name": "WB_TEST_URLS"}])
        assert (
            N.send_status({"status": "not_sent"}, True, why)
            == "未发送：未设置环境变量 WB_TEST_URLS"
        )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("lang", "said", "promised"),
    [
        ("en", "not sent: WORKBOOK_ALERT_URLS is not set", "to be sent"),
        ("zh", "未发送：未设置环境变量 WORKBOOK_ALERT_URLS", "待发送"),
    ],
)
def test_delivery_set_env_unset_report_and_results_agree(
    lang, said, promised, sample_dir, tmp_path, cli_env
):
    out = tmp_path / "reports"
    p = _daily(tmp_path, lang)
    env = {k: v for k, v in cli_env.items() if k != "WORKBOOK_ALERT_URLS"}
    r = workbook("run", p, "--out", out, env=dict(env, WORKBOOK_TODAY="2025-01-09"))
    assert r.returncode == 0, r.stderr
    assert "not sent: WORKBOOK_ALERT_URLS is not set" in r.stderr
    rep = out / "kpi_monitor" / p.stem
    res = json.loads((rep / "results.json").read_text())
    fig = res["figures"]["alerts"]
    assert fig["delivery"] == {
        "set": True,
        "ready": False,
        "missing": [{"kind": "env", "name": "WORKBOOK_ALERT_URLS"}],
    }
    recs, final = fig["records"], res["alerts"]["records"]
    assert recs and {x["status"] for x in recs} == {"not_sent"}  # what the report was made from
    assert {x["status"] for x in final} == {"not_sent"}  # what the delivery recorded
    text = _text(rep / "report.html")
    assert text.count(said) == len(recs)  # each row of the alerts table
    assert "WORKBOOK_ALERT_URLS" in text.split(said)[0]  # the section's sentence says why first
    assert promised not in text
