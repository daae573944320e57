"""Market analysis: concentration by hand, planted category growth found, our brand required."""

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
    assert s["market_size"] == pytest.approx(120.0)
    assert s["market_growth_yoy"] == pytest.approx(0.2)
    assert s["our_share"] == pytest.approx(0.2)
    assert s["our_rank"] == 2
    assert s["hhi"] == pytest.approx(20**2 + 80**2)


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
    m = market.category_matrix(df, ours, months).set_index("category")
    planted = truth["market"]["planted_competitor_market_growth"]
    fastest = max(planted, key=planted.get)
    slowest = min(planted, key=planted.get)
    assert m.loc[fastest, "growth_yoy"] > m.attrs["growth_split"]
    assert m.loc[fastest, "quadrant"] in {"opportunity", "star"}
    assert m.loc[slowest, "quadrant"] in {"defend", "deprioritise"}


def test_persona_distributions_sum_to_one(sample_dir):
    p = market.buyer_persona(data.connect(str(sample_dir)), "2025-01-01", "2025-12-31")
    for dim in ["age_band", "gender", "region", "city_tier", "spend_tier"]:
        assert p[dim]["all_buyers"].sum() == pytest.approx(1.0)
        assert p[dim]["high_value"].sum() == pytest.approx(1.0)
    s = p["_summary"].iloc[0]
    assert s.high_value_spend_share > 0.2  # the top 20% spend more than 20%
