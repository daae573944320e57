"""A params ``title`` is one text or one per language (``{en: ..., zh: ...}``): a report shows its
language's, falling back to the other's, wherever the title shows (the report's heading, the
page title, results.json and so the index, alert messages). An English example run with
``lang: zh`` once showed its English title over a Chinese report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from analysis_lib.errors import ParamsError
from analysis_lib.params.loading import validate
from tests.test_runner import ROOT, workbook

BASE = {
    "notebook": "kpi_monitor",
    "data": {"url": "data"},
    "period": {"start": "2025-10-01", "end": "2025-10-31"},
    "grain": "week",
}


def _params(title, lang="en"):
    return validate(BASE | {"title": title, "lang": lang})


def test_a_title_per_language_shows_the_report_language_and_falls_back():
    both = {"en": "KPI monitor", "zh": "数据监控"}
    assert _params(both, "en").title_text == "KPI monitor"
    assert _params(both, "zh").title_text == "数据监控"
    assert _params({"en": "KPI monitor"}, "zh").title_text == "KPI monitor"  # no error
    assert _params({"zh": "数据监控"}, "en").title_text == "数据监控"
    assert _params("  One title  ", "zh").title_text == "One title"
    assert _params({"en": "  padded "}, "en").title == {"en": "padded"}


@pytest.mark.parametrize(
    ("title", "line"),
    [
        ({"fr": "Moniteur"}, "field 'title': unknown language 'fr' (a text per language has"),
        ({}, "field 'title': is an empty mapping: give the text, or {en: ..., zh: ...}"),
        ({"en": "", "zh": "数据"}, "field 'title': en: String should have at least 1 character"),
        ({"zh": "x" * 201}, "field 'title': zh: String should have at most 200 characters"),
        ({"en": ["a"]}, "field 'title': en: must be text, got a list"),
        (["a"], "field 'title': must be text or one text per language"),
        ("", "field 'title': String should have at least 1 character (got '')"),
    ],
)
def test_bad_titles_are_one_line_naming_the_field(title, line):
    with pytest.raises(ParamsError) as e:
        _params(title)
    assert line in str(e.value) and "\n" not in str(e.value)


def test_examples_give_their_title_in_both_languages():
    """Every example params file is rendered in both languages by the report tests: each gives
    its title in both, so a Chinese report never heads with an English title."""
    for f in sorted((ROOT / "params").rglob("*.yaml")):
        title = yaml.safe_load(f.read_text(encoding="utf-8"))["title"]
        assert isinstance(title, dict) and set(title) == {"en", "zh"}, f


@pytest.mark.e2e
def test_a_chinese_run_of_an_english_example_heads_with_the_chinese_title(tmp_path):
    """The ARMA example (the quickest to run) copied with ``lang: zh``: the heading, the page's
    <title>, results.json and the index show its zh title, the English one nowhere but in the
    params block of the provenance."""
    from bs4 import BeautifulSoup

    src = ROOT / "params" / "intervention_impact" / "arma.yaml"
    doc = yaml.safe_load(src.read_text(encoding="utf-8"))
    doc["lang"] = "zh"
    doc["data"]["url"] = str(ROOT / doc["data"]["url"])
    doc["series"]["path"] = str(ROOT / doc["series"]["path"])
    p = tmp_path / "params" / "intervention_impact" / "arma_zh.yaml"
    p.parent.mkdir(parents=True)
    p.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    r = workbook("run", p, "--out", tmp_path / "reports")
    assert r.returncode == 0, r.stderr[-2000:]
    zh, en = doc["title"]["zh"], doc["title"]["en"]
    out = tmp_path / "reports" / "intervention_impact" / "arma_zh"
    page = BeautifulSoup((out / "report.html").read_text(encoding="utf-8"), "html.parser")
    assert page.select_one(".wb-title h1").get_text() == zh
    assert page.title.get_text() == zh
    assert json.loads((out / "results.json").read_text())["title"] == zh
    index = (tmp_path / "reports" / "index.html").read_text(encoding="utf-8")
    assert zh in index and en not in index
    for d in page.select("footer details"):
        d.decompose()  # the params as given show both titles
    assert en not in page.get_text()


def test_the_title_reaches_alert_messages_in_the_report_language():
    """``run.notify.message`` (the alert's subject) uses the title of the report's language."""
    from analysis_lib.run import notify

    p = _params({"en": "KPI monitor", "zh": "数据监控"}, "zh")
    subject, _ = notify.message(p, [], ["2025-10-02"], Path("report.html"), email=False)
    assert "数据监控" in subject and "KPI monitor" not in subject


TARGETS = {
    "notebook": "target_setting",
    "title": "Targets",
    "data": {"url": "data"},
    "period": {"start": "2024-01-01", "end": "2025-12-31"},
    "target_year": 2026,
    "annual_target": 1_000_000,
}


def test_target_texts_per_language_show_the_report_language():
    """A target plan's free text (the resources beside every target, the scenarios' names) is one
    text or one per language, as a title: a Chinese report once repeated 'marketing budget as 2025
    plus 10%' in English beside each of its targets."""
    doc = TARGETS | {
        "resources": {"en": "budget +10%", "zh": "预算 +10%"},
        "scenarios": [{"name": {"en": "+5% traffic", "zh": "流量 +5%"}, "uv": 0.05}, {"name": "B"}],
    }
    zh, en = validate(doc | {"lang": "zh"}), validate(doc | {"lang": "en"})
    assert zh.resources_text == "预算 +10%" and en.resources_text == "budget +10%"
    assert [s["name"] for s in zh.what_if] == ["流量 +5%", "B"]
    assert [s["name"] for s in en.what_if] == ["+5% traffic", "B"]
    assert zh.what_if[0]["uv"] == 0.05
    assert validate(TARGETS).resources_text == ""
    with pytest.raises(ParamsError, match="unknown language 'fr'"):
        validate(TARGETS | {"resources": {"fr": "budget"}})
    with pytest.raises(ParamsError, match="at most 80"):
        validate(TARGETS | {"scenarios": [{"name": {"zh": "长" * 81}}]})
