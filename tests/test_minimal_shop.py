"""Every shop notebook runs on a minimal shop: four orders, ten events, no users, marketing spend,
inventory or targets tables, one-month periods; once with the optional columns the small shop has
(channel, device, session, sku) and once with only the canonical required columns. Reports must say
"not enough data" (or which column is missing) where a section has nothing to show, never fail."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from analysis_lib.data import CANONICAL
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
