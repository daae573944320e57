"""Every example params file under params/ runs on the sample data, and its report is clean:
no user ids, e-mail addresses or phone numbers, no script, under 2 MB."""

from __future__ import annotations

import json
import os
import re

import pytest

from analysis_lib.run.cli import DEMO_TODAY
from tests import browser as B
from tests.conftest import SCREENSHOTS
from tests.test_runner import ROOT, workbook

PERSONAL = [
    re.compile(r"\bu\d{8}\b"),  # sample user ids
    re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+"),  # e-mail addresses
    re.compile(r"\b1[3-9]\d{9}\b"),  # mainland China mobile numbers
]
pytestmark = pytest.mark.e2e  # every example runs through `workbook run-all` once


@pytest.fixture(scope="module")
def all_reports(tmp_path_factory, sample_dir):
    out = tmp_path_factory.mktemp("examples") / "reports"
    # params point at data/sample (conftest); rolling periods end in the sample's 2025
    env = dict(os.environ, WORKBOOK_TODAY=DEMO_TODAY)
    r = workbook("run-all", ROOT / "params", "--out", out, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    return out


def test_every_example_ran(all_reports):
    examples = sorted(p.relative_to(ROOT / "params") for p in (ROOT / "params").rglob("*.yaml"))
    assert examples
    for ex in examples:
        res = all_reports / ex.parent / ex.stem / "results.json"
        assert json.loads(res.read_text())["status"] == "ok", ex


def test_reports_hold_no_personal_data_and_stay_small(all_reports):
    reports = list(all_reports.glob("*/*/report.html"))
    assert reports
    for rep in reports:
        html = rep.read_text(encoding="utf-8")
        for pat in PERSONAL:
            assert not pat.search(html), f"{rep}: {pat.pattern}"
        assert "<script" not in html.lower()
        assert rep.stat().st_size < 2 * 1024 * 1024, rep


def test_funnel_example_names_planted_bottleneck(all_reports, truth):
    figs = json.loads(
        (all_reports / "funnel" / "december_vs_october" / "results.json").read_text()
    )["figures"]
    a, b = truth["funnel"]["leak"]["step"].split("->")
    assert (figs["bottleneck_from_step"], figs["bottleneck_step"]) == (a, b)
    assert figs["bottleneck_segment"] == truth["funnel"]["leak"]["device"]
    assert [s["step"] for s in figs["steps"]][0] == "page_view"
    # ids went to the CRM export, outside reports/
    assert figs["dropoff_exported"] > 0
    assert not list(all_reports.rglob("*.csv"))


def test_index_links_every_report(all_reports):
    index = (all_reports / "index.html").read_text(encoding="utf-8")
    for rep in all_reports.glob("*/*/report.html"):
        assert f"{rep.parent.parent.name}/{rep.parent.name}/report.html" in index


def test_export_inside_reports_is_refused(tmp_path, sample_dir):
    p = tmp_path / "f.yaml"
    out = tmp_path / "reports"
    p.write_text(
        json.dumps(
            {
                "notebook": "funnel",
                "title": "x",
                "data": {"url": str(sample_dir)},
                "period": {"start": "2025-12-01", "end": "2025-12-31"},
                "export_dropoff": {"step": "checkout", "path": str(out / "ids.csv")},
            }
        )
    )
    r = workbook("run", p, "--out", out)
    assert r.returncode != 0
    assert "export_dropoff.path" in r.stderr and "outside" in r.stderr
    assert not out.exists()


def test_ab_examples_record_the_documented_figures(all_reports):
    for name in ["checkout_experiment", "cookie_cats"]:
        figs = json.loads((all_reports / "ab_test" / name / "results.json").read_text())["figures"]
        assert set(figs["srm"]) == {"p_value", "counts"}
        assert figs["verdict"] in {"ship", "don't ship", "inconclusive"}
        keys = {
            "metric",
            "variant",
            "control_value",
            "treatment_value",
            "abs_diff",
            "rel_diff",
            "ci_low",
            "ci_high",
            "p_value",
            "p_value_adjusted",
        }
        assert figs["metrics"] and all(keys <= set(r) for r in figs["metrics"])
    cc = json.loads((all_reports / "ab_test" / "cookie_cats" / "results.json").read_text())[
        "figures"
    ]
    assert cc["srm"]["counts"] == {"gate_30": 44700, "gate_40": 45489}
    assert cc["verdict"] == "don't ship" and "Day-7 retention" in cc["verdict_reason"]


@pytest.mark.browser
def test_reports_in_a_real_browser(all_reports, browser):
    """Every example report and the index, opened from file:// in headless Chromium: no console
    error, every image loads, no script ran; a full-page screenshot of each is saved."""
    pages = sorted(all_reports.glob("*/*/report.html")) + [all_reports / "index.html"]
    problems = []
    for page in pages:
        r = B.open_page(browser, page)
        name = (
            "index"
            if page.name == "index.html"
            else f"{page.parent.parent.name}__{page.parent.name}"
        )
        shot = B.screenshot(browser, r["height"], SCREENSHOTS / f"{name}.png")
        if r["errors"]:
            problems.append(f"{name}: console errors {r['errors'][:3]}")
        if r["broken_images"]:
            problems.append(f"{name}: images that did not load {r['broken_images'][:3]}")
        if page.name == "report.html" and r["images"] == 0:
            problems.append(f"{name}: no chart at all")
        if r["xss"] is not None:
            problems.append(f"{name}: a script ran")
        if shot.stat().st_size < 10_000:
            problems.append(f"{name}: the screenshot looks blank ({shot.stat().st_size} bytes)")
        assert page.stat().st_size < 2 * 1024 * 1024, name
    assert not problems, "\n".join(problems)
