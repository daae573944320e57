"""Market analysis: concentration by hand, planted category growth found, our brand required."""

import re

import pandas as pd
import pytest

from analysis_lib.analyses import market
from analysis_lib.core import data
from analysis_lib.errors import DataError


def test_concentration_by_hand():
    sales = pd.Series({"A": 40.0, "B": 30.0, "C": 15.0, "D": 10.0, "E": 5.0, "F": 0.0})
    c = market.concentration(sales)
    assert c["cr3"] == pytest.approx(0.85)
    assert c["cr5"] == pytest.approx(1.0)
    assert c["hhi"] == pytest.approx(40**2 + 30**2 + 15**2 + 10**2 + 5**2)  # 2,750
    assert c["brands"] == 5


def _tiny(tmp_path, with_self=True):
    rows = []
    for p, k in (("2024-01", 1.0), ("2025-01", 1.2)):
        rows += [
            {
                "period": p,
                "brand": "Us",
                "category": "X",
                "sales": 20 * k,
                "units": 2,
                "is_self": with_self,
            },
            {
                "period": p,
                "brand": "Them",
                "category": "X",
                "sales": 80 * k,
                "units": 10,
                "is_self": False,
            },
        ]
    pd.DataFrame(rows).to_parquet(tmp_path / "market.parquet")
    return data.connect(str(tmp_path))


def test_window_summary_by_hand(tmp_path):
    df, ours = market.load(_tiny(tmp_path))
    s = market.window_summary(df, ours, ["2025-01"])
    assert ours == "Us"
    assert s.market_size == pytest.approx(120.0)
    assert s.market_growth_yoy == pytest.approx(0.2)
    assert s.our_share == pytest.approx(0.2)
    assert s.our_rank == 2
    assert s.hhi == pytest.approx(20**2 + 80**2)
    assert s.our_share_prev == pytest.approx(0.2) and s.our_rank_prev == 2
    assert s.share_change == pytest.approx(0.0)


def test_market_without_our_brand_is_refused(tmp_path):
    src = _tiny(tmp_path, with_self=False)
    with pytest.raises(DataError, match="no row of our own brand"):
        market.load(src)
    with pytest.raises(DataError, match="our brand 'Nope' does not appear"):
        market.load(src, "Nope")


def test_planted_fast_categories_stand_out(sample_dir, truth):
    src = data.connect(str(sample_dir))
    df, ours = market.load(src)
    months = market.months_in("2025-01-01", "2025-12-31")
    cm = market.category_matrix(df, ours, months)
    m = cm.table.set_index("category")
    planted = truth["market"]["planted_competitor_market_growth"]
    fastest = max(planted, key=planted.get)
    slowest = min(planted, key=planted.get)
    assert m.loc[fastest, "growth_yoy"] > cm.growth_split
    assert m.loc[fastest, "quadrant"] in {"opportunity", "star"}
    assert m.loc[slowest, "quadrant"] in {"defend", "deprioritise"}


def test_persona_distributions_sum_to_one(sample_dir):
    p = market.buyer_persona(data.connect(str(sample_dir)), "2025-01-01", "2025-12-31")
    # no spend tier: high-value buyers are cut by spend, so its split was circular (index 400)
    assert set(p.dims) == {"age_band", "gender", "region", "city_tier"}
    for dim in p.dims:
        assert p.dims[dim]["all_buyers"].sum() == pytest.approx(1.0)
        assert p.dims[dim]["high_value"].sum() == pytest.approx(1.0)
    assert p.high_value_spend_share > 0.2  # the top 20% spend more than 20%
    # bands in their order, not alphabetically
    ages = list(p.dims["age_band"]["value"])
    assert ages == [a for a in market.AGE_BANDS if a in ages]


def _two_categories(tmp_path):
    """Category X: the market grows 50% and our share falls from 40% to 20%; category Y: the
    market grows 10% and our share rises from 10% to 30%."""
    rows = []
    for p, (us_x, them_x, us_y, them_y) in (
        ("2024-01", (40, 60, 10, 90)),
        ("2025-01", (30, 120, 33, 77)),
    ):
        for brand, cat, sales in (
            ("Us", "X", us_x),
            ("Them", "X", them_x),
            ("Us", "Y", us_y),
            ("Them", "Y", them_y),
        ):
            rows.append(
                {"period": p, "brand": brand, "category": cat, "sales": float(sales), "units": 1}
            )
    pd.DataFrame(rows).to_parquet(tmp_path / "market.parquet")
    return data.connect(str(tmp_path))


def test_share_to_win_back_where_the_market_grows_and_our_share_falls(tmp_path):
    r = market.analyse(_two_categories(tmp_path), "2025-01-01", "2025-01-31", our_brand="Us")
    t = r.matrix.table.set_index("category")
    assert t.loc["X", "growth_yoy"] == pytest.approx(0.5)
    assert t.loc["X", "share_change"] == pytest.approx(-0.2)
    assert t.loc["Y", "share_change"] == pytest.approx(0.2)
    # the parts of the market's growth add up to it
    assert t["growth_contribution"].sum() == pytest.approx(r.summary.market_growth_yoy)
    assert [x.category for x in r.losses] == ["X"]
    x = r.losses[0]
    assert x.sales_at_stake == pytest.approx(0.2 * 150)  # last year's share of this year's market
    assert (x.our_share, x.our_share_prev) == (pytest.approx(0.2), pytest.approx(0.4))


# --- the rendered report: one source of truth per figure ------------------------------------


@pytest.fixture(scope="module")
def market_reports(tmp_path_factory, sample_dir):
    """The market example rendered in English and Chinese (charts checked against the house
    rules), with its results.json and the index."""
    import os

    import yaml

    from tests.test_runner import ROOT, workbook

    out = tmp_path_factory.mktemp("market") / "reports"
    raw = yaml.safe_load((ROOT / "params/market_analysis/market_2025.yaml").read_text())
    raw["data"]["url"] = str(sample_dir)
    runs = {}
    for lang in ("en", "zh"):
        p = out.parent / f"market_{lang}.yaml"
        p.write_text(yaml.safe_dump(raw | {"lang": lang}))
        r = workbook("run", p, "--out", out, env=os.environ | {"WORKBOOK_CHECK_CHARTS": "1"})
        assert r.returncode == 0, r.stdout + r.stderr
        runs[lang] = out / "market_analysis" / p.stem
    return out, runs


@pytest.mark.e2e
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_market_report_figures_agree(market_reports, lang):
    """Card text == the formatting of the results.json figure == the figure in the findings,
    the matrix's lead and the index; the report has its What to do."""
    import json

    from bs4 import BeautifulSoup

    from analysis_lib.present.context import use
    from analysis_lib.present.narrative import market_analysis as N
    from analysis_lib.present.numbers import fmt
    from analysis_lib.present.words import value

    out, runs = market_reports
    res = json.loads((runs[lang] / "results.json").read_text())
    figs = res["figures"]
    soup = BeautifulSoup((runs[lang] / "report.html").read_text(encoding="utf-8"), "html.parser")
    cards = {
        c.select_one(".wb-card-label").get_text(): c.select_one(".wb-card-value").get_text()
        for c in soup.select(".wb-card")
    }
    findings = [li.get_text() for li in soup.select(".wb-findings li")]
    index = BeautifulSoup(
        (out / "index.html").read_text(encoding="utf-8"), "html.parser"
    ).get_text()
    with use(lang=lang, currency=res["params"]["currency"]):
        expect = {
            N.w("card.market_size"): fmt(figs["market_size"], "money_compact"),
            N.w("card.our_share"): fmt(figs["our_share"], "pct"),
            N.w("card.our_rank"): N.rank_text(figs["our_rank"]),
            N.w("card.hhi"): fmt(figs["hhi"], "count"),
        }
        growth = fmt(figs["market_growth_yoy"], "signed_pct")
        lead = soup.find("h2", string=N.w("section.matrix")).find_next("p").get_text()
        assert cards == expect
        assert expect[N.w("card.market_size")] in findings[0] and growth in findings[0]
        assert (
            expect[N.w("card.our_share")] in findings[1]
            and expect[N.w("card.our_rank")] in findings[1]
        )
        assert growth in lead  # the matrix is split at the market's growth: the same figure
        for label, text in expect.items():
            assert (
                res["shown"][next(k for k, v in res["shown"].items() if v["label"] == label)][
                    "text"
                ]
                == text
            )
            assert f"{label}: {text}" in index
    todo = soup.select_one(".wb-todo")
    assert todo is not None and (todo.select("li") or todo.select(".wb-note"))
    for cat in figs["opportunities"]:  # recorded as the data writes it, shown in the language
        assert value("category", cat, lang) in todo.get_text()
    # round 2: the share change is coloured around zero (gains green, losses red), whatever the
    # spread: every category gains in the sample, and the smallest gain was dark red
    with use(lang=lang):
        matrix = soup.find("h2", string=N.w("section.matrix")).find_next("table")
        persona = soup.find("h2", string=N.w("section.persona")).find_parent()
    for tr in matrix.select("tbody tr"):
        cell = tr.select("td")[6]
        hexcol = re.search(r"background-color: #([0-9a-fA-F]{6})", cell.get("style", "")).group(1)
        red, green = int(hexcol[0:2], 16), int(hexcol[2:4], 16)
        assert (green > red) == cell.get_text().startswith("+"), (cell.get_text(), hexcol)
    # no circular spend-tier table (high-value buyers are cut by spend): one table per dimension
    assert len(persona.find_all("table")) == 4  # age band, gender, region, city tier
    if lang == "zh":  # a space between Chinese and a Latin name from the data
        assert not re.search(CJK_LATIN, " ".join(findings) + todo.get_text())


CJK_LATIN = r"[\u4e00-\u9fff][A-Za-z]|[A-Za-z][\u4e00-\u9fff]"


def test_a_share_change_is_coloured_around_zero():
    """All gains, one small: green, not the red end of a min-to-max scale."""
    from analysis_lib.present.tables import table

    df = pd.DataFrame({"c": ["a", "b"], "share_change": [0.01, 0.30]})
    html = table(
        df,
        {"share_change": "pp"},
        {"c": "c", "share_change": "s"},
        colors={"share_change": ("RdYlGn", 0.0)},
    )
    from bs4 import BeautifulSoup

    cells = BeautifulSoup(str(html.data if hasattr(html, "data") else html), "html.parser")
    cols = [
        re.search(r"background-color: #([0-9a-fA-F]{6})", td.get("style", "")).group(1)
        for td in cells.select("tbody td")
        if "background-color" in td.get("style", "")
    ]
    assert len(cols) == 2
    for h in cols:
        assert int(h[2:4], 16) >= int(h[0:2], 16)  # green or the neutral middle, never red
