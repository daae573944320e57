"""Every shop notebook runs on a minimal shop: four orders, ten events, no users, marketing spend,
inventory or targets tables, one-month periods; once with the optional columns the small shop has
(channel, device, session, sku) and once with only the canonical required columns. Reports must say
"not enough data" (or which column is missing) where a section has nothing to show, never fail."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from analysis_lib.core.data import CANONICAL
from tests.test_bad_inputs import BASE
from tests.test_runner import workbook

HEAD = "title: Minimal shop\ndata: {url: data}\n"
PARAMS = {
    "kpi_monitor/daily.yaml": "notebook: kpi_monitor\ngrain: day\nperiod: {start: 2025-10-01, end: 2025-10-31}\n",
    "funnel/zh_compare.yaml": (
        "notebook: funnel\nlang: zh\nperiod: {start: 2025-10-01, end: 2025-10-31}\n"
        "compare_period: {start: 2025-09-01, end: 2025-09-30}\n"
        "steps: [page_view, product_view, add_to_cart, checkout, purchase]\n"
        "breakdowns: [channel, new_vs_returning, category]\n"
    ),
    "product_ops/month.yaml": "notebook: product_ops\nperiod: {start: 2025-10-01, end: 2025-10-31}\n",
    "ab_test/e1.yaml": (
        "notebook: ab_test\nperiod: {start: 2025-10-01, end: 2025-10-31}\nexperiment_id: E1\n"
        "metrics: [{name: converted, kind: proportion}, {name: revenue, kind: mean}]\n"
    ),
    "customer_value/month.yaml": "notebook: customer_value\nperiod: {start: 2025-10-01, end: 2025-10-31}\n",
    "customer_value/year.yaml": "notebook: customer_value\nperiod: {start: 2025-01-01, end: 2025-12-31}\n",
    "campaign_retro/no_spend.yaml": (
        "notebook: campaign_retro\nperiod: {start: 2025-09-01, end: 2025-10-05}\ncampaign_id: C1\n"
    ),
}


def required_only(folder) -> None:
    """Drop every optional column from the CSV tables in ``folder``."""
    for f in folder.glob("*.csv"):
        df = pd.read_csv(f, dtype=str, keep_default_na=False)
        df[[c for c in df.columns if c in CANONICAL[f.stem]]].to_csv(f, index=False)


@pytest.mark.parametrize("columns", ["with_optional", "required_only"])
def test_every_notebook_runs_on_a_minimal_shop(tmp_path, columns):
    shutil.copytree(BASE, tmp_path / "data")
    params = dict(PARAMS)
    if columns == "required_only":
        required_only(tmp_path / "data")
        # breakdowns left to the default: the ones the shop's events have (new vs returning)
        params["funnel/zh_compare.yaml"] = params["funnel/zh_compare.yaml"].split("breakdowns")[0]
    for rel, body in params.items():
        p = tmp_path / "params" / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(HEAD + body)
    r = workbook("run-all", "params", "--out", "reports", cwd=tmp_path)
    assert r.returncode == 0, r.stdout[-3000:]
    for rel in params:
        nb, name = rel.removesuffix(".yaml").split("/")
        res = json.loads((tmp_path / "reports" / nb / name / "results.json").read_text())
        assert res["status"] == "ok" and res["figures"]["data_quality"]["checks"] > 0, rel
    if columns == "required_only":
        html = (tmp_path / "reports" / "funnel" / "zh_compare" / "report.html").read_text()
        assert "需要 channel 列" in html  # traffic sources: says what is missing
        res = json.loads(
            (tmp_path / "reports" / "funnel" / "zh_compare" / "results.json").read_text()
        )
        assert res["params"]["breakdowns"] == ["new_vs_returning"]


# a whole optional table missing: the notebooks that can run without it, and what their reports
# must then say (both languages)
WITHOUT = {
    "events": {
        "kpi_monitor/en.yaml": "notebook: kpi_monitor\ngrain: week\nperiod: {start: 2025-10-01, end: 2025-10-31}\n",
        "kpi_monitor/zh.yaml": "notebook: kpi_monitor\nlang: zh\ngrain: day\nperiod: {start: 2025-10-01, end: 2025-10-31}\n",
        "product_ops/month.yaml": PARAMS["product_ops/month.yaml"],
        "customer_value/month.yaml": PARAMS["customer_value/month.yaml"],
        "campaign_retro/no_spend.yaml": PARAMS["campaign_retro/no_spend.yaml"],
    },
    "orders": {
        "funnel/en.yaml": "notebook: funnel\nperiod: {start: 2025-10-01, end: 2025-10-31}\n",
        "funnel/zh.yaml": "notebook: funnel\nlang: zh\nperiod: {start: 2025-10-01, end: 2025-10-31}\n",
    },
}
SAYS = {
    "kpi_monitor/en.yaml": [
        "UV and conversion rate are not reported: the shop has no events table"
    ],
    "kpi_monitor/zh.yaml": ["未报告访客数和转化率：该店铺没有 events 表"],
    "funnel/en.yaml": ["the shop has no orders table", "The traffic-source section is left out"],
    "funnel/zh.yaml": ["该店铺没有 orders 表", "未包含流量来源质量部分"],
    # the minimal shop has neither a cost nor an inventory table
    "product_ops/month.yaml": [
        "Not available: gross margin (needs a cost",
        "needs an inventory table",
    ],
    "campaign_retro/no_spend.yaml": ["Not shown: the shop has no events table"],
}


@pytest.mark.parametrize("table", sorted(WITHOUT))
def test_notebooks_run_without_a_whole_table(tmp_path, table):
    """Most shop exports have no event log (Olist, UCI Online Retail, ERP order exports), and an
    event log may come without orders: the notebooks that can still run do (before: "table
    'events' not found" / "table 'orders' not found"), leave out what needs the missing table and
    say why, in the report and in results.json (None with the reason, never a made-up number)."""
    shutil.copytree(BASE, tmp_path / "data")
    (tmp_path / "data" / f"{table}.csv").unlink()
    for rel, body in WITHOUT[table].items():
        p = tmp_path / "params" / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(HEAD + body)
    r = workbook("run-all", "params", "--out", "reports", cwd=tmp_path)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    for rel in WITHOUT[table]:
        nb, name = rel.removesuffix(".yaml").split("/")
        out = tmp_path / "reports" / nb / name
        res = json.loads((out / "results.json").read_text())
        assert res["status"] == "ok", rel
        html = (out / "report.html").read_text()
        for text in SAYS.get(rel, []):
            assert text in html, (rel, text)
        figs = res["figures"]
        if nb == "kpi_monitor":
            assert figs["uv"] is None and figs["conversion_rate"] is None
            assert "no events table" in figs["not_available"]["conversion_rate"]
            assert figs["gmv"] > 0 and figs["orders"] > 0
            for shown in ["Conversion rate", "转化率为", ">转化率<", ">UV<", ">访客数 UV<"]:
                assert shown not in html, (rel, shown)  # no card, row, column or sentence
        if nb == "product_ops":
            assert figs["gross_margin"] is None and "cost" in figs["not_available"]["gross_margin"]
            assert figs["inventory_turnover"] is None and "nan×" not in html
    index = (tmp_path / "reports" / "index.html").read_text()
    assert "n/a" not in index  # a figure the shop cannot give is left out of the headline
    if table == "events":  # what replaces them: buyers for conversion, SKUs sold for sell-through
        assert "Buyers:" in index and "SKUs sold:" in index
