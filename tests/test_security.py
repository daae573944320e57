"""Hostile text in params and data: shown as text in a real browser, never run; a params value
cannot inject code into the notebook."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from selenium.webdriver.common.by import By

from tests import browser as B
from tests.test_runner import ROOT, workbook

SCRIPT = "<script>window.__xss=1</script>"
IMG = '<img src=x onerror="window.__xss=2">'
SVG = "<svg onload=window.__xss=3>"
pytestmark = pytest.mark.e2e


def _marker_title(marker) -> str:
    # breaks out of a string literal in every quoting style papermill or a notebook could use
    return f"R {SCRIPT}\"\"\"'''\"); open(r'{marker}','w')#'); open(r'{marker}','w')#{{params}}"


@pytest.fixture(scope="module")
def hostile(tmp_path_factory, sample_dir):
    """Sample data whose campaign names and categories carry HTML and JavaScript, a params file
    whose title tries both HTML and Python injection, and the reports run on them."""
    root = tmp_path_factory.mktemp("h")
    shop = root / "shop"
    shop.mkdir()
    for p in sample_dir.iterdir():
        if p.name not in ("campaigns.parquet", "products.parquet") and p.suffix != ".lock":
            (shop / p.name).symlink_to(p)
    camps = pd.read_parquet(sample_dir / "campaigns.parquet")
    camps["name"] = camps["name"] + " " + SCRIPT + IMG
    camps.to_parquet(shop / "campaigns.parquet")
    prods = pd.read_parquet(sample_dir / "products.parquet")
    prods["category"] = prods["category"].replace({"Toys": "Toys" + SVG})
    prods.to_parquet(shop / "products.parquet")
    marker = root / "P"
    out = root / "reports"
    runs = {
        "campaign_retro": {
            "notebook": "campaign_retro",
            "title": _marker_title(marker),
            "data": {"url": str(shop)},
            "period": {"start": "2025-07-01", "end": "2025-10-23"},
            "campaign_id": "C2025_1111",
            "controls": {
                "table": "search_index",
                "date_column": "date",
                "columns": ["search_index"],
            },
            "compare_with": ["C2025_618"],
        },
        "product_ops": {
            "notebook": "product_ops",
            "title": "Products " + SCRIPT,
            "data": {"url": str(shop)},
            "period": {"start": "2025-10-01", "end": "2025-12-31"},
        },
    }
    for name, doc in runs.items():
        p = root / f"{name}.yaml"
        p.write_text(json.dumps(doc))  # JSON is YAML
        r = workbook("run", p, "--out", out, cwd=ROOT)
        assert r.returncode == 0, r.stderr
    return {"out": out, "marker": marker}


def test_params_cannot_inject_code(hostile):
    assert not hostile["marker"].exists()
    res = json.loads(
        (hostile["out"] / "campaign_retro" / "campaign_retro" / "results.json").read_text()
    )
    assert res["params"]["title"] == _marker_title(hostile["marker"])  # kept as text, whole


def test_hostile_text_is_escaped_in_the_html(hostile):
    for rep in hostile["out"].glob("*/*/report.html"):
        html = rep.read_text(encoding="utf-8")
        low = html.lower()
        assert "<script" not in low and "<img src=x" not in low and "<svg" not in low, rep
        assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in html, rep
    html = (hostile["out"] / "product_ops" / "product_ops" / "report.html").read_text()
    assert "Toys&lt;svg onload=window.__xss=3&gt;" in html


@pytest.mark.browser
def test_no_script_runs_in_a_real_browser(hostile, browser):
    pages = [*hostile["out"].glob("*/*/report.html"), hostile["out"] / "index.html"]
    for page in pages:
        r = B.open_page(browser, page)
        assert r["xss"] is None, f"{page}: a script ran"
        assert not [e for e in r["errors"] if "__xss" in e], r["errors"]
        text = browser.find_element(By.TAG_NAME, "body").text
        assert SCRIPT in text, f"{page}: the hostile text is not shown as text"
    retro = B.open_page(
        browser, hostile["out"] / "campaign_retro" / "campaign_retro" / "report.html"
    )
    assert retro["broken_images"] == []  # the <img src=x> is text, not an image
