import pandas as pd

from analysis_lib import report


def test_table_headers_read_like_words():
    df = pd.DataFrame({"gmv_share": [0.5], "ltv_cac": [2.0], "days_of_supply": [float("inf")]})
    html = report.table(df, {"gmv_share": "pct", "days_of_supply": "ratio"}).markup
    assert "GMV share" in html and "LTV / CAC" in html and "∞" in html and "gmv_share" not in html
    report.set_lang("zh")
    try:
        assert "GMV 占比" in report.table(df).markup
    finally:
        report.set_lang("en")
