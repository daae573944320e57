import textwrap

import pandas as pd
import pytest

from analysis_lib import params as P
from analysis_lib.errors import ParamsError

GOOD = """
notebook: kpi_monitor
title: T
data: {url: data/sample}
period: {start: 2025-01-01, end: 2025-01-31}
grain: week
"""


def write(tmp_path, text, name="p.yaml", raw=None):
    p = tmp_path / name
    if raw is not None:
        p.write_bytes(raw)
    else:
        p.write_text(textwrap.dedent(text))
    return p


def test_good_params_parse_dates_and_defaults(tmp_path):
    p = P.load(write(tmp_path, GOOD))
    assert p.period.days == 31
    assert p.lang == "en"
    assert p.grain == "week"


@pytest.mark.parametrize(
    "text, expected",
    [
        (GOOD.replace("grain: week", "grian: week"), "unknown key 'grian' (did you mean 'grain'?)"),
        # a nested key is matched against the keys of its own section
        (
            GOOD.replace("{url: data/sample}", "{urll: x}"),
            "unknown key 'data.urll' (did you mean 'url'?)",
        ),
        (
            GOOD + "shop: 3\n",
            "field 'shop': the path of a shop profile (e.g. shop: ../shop.yaml), got 3",
        ),
        (
            GOOD.replace("end: 2025-01-31", "end: 2024-12-31"),
            "field 'period': end 2024-12-31 is before start",
        ),
        (GOOD.replace("start: 2025-01-01", "start: 2025-02-30"), "field 'period.start'"),
        (GOOD.replace("grain: week", "grain: year"), "field 'grain'"),
        (GOOD.replace("title: T\n", ""), "missing key 'title'"),
        (
            GOOD.replace("notebook: kpi_monitor", "notebook: nope"),
            "field 'notebook': unknown notebook 'nope'",
        ),
        (GOOD + "lang: fr\n", "field 'lang'"),
        ("- a\n- b\n", "expected a mapping"),
        ("a: [1, 2\n", "invalid YAML at line"),
    ],
)
def test_bad_params_one_line_naming_file_and_field(tmp_path, text, expected):
    path = write(tmp_path, text)
    with pytest.raises(ParamsError) as exc:
        P.load(path)
    msg = str(exc.value)
    assert "\n" not in msg
    assert msg.startswith(str(path))
    assert expected in msg


def test_not_utf8(tmp_path):
    path = write(tmp_path, None, raw=GOOD.replace("title: T", "title: \xe9t\xe9").encode("latin-1"))
    with pytest.raises(ParamsError, match="not UTF-8"):
        P.load(path)


def test_missing_file(tmp_path):
    with pytest.raises(ParamsError, match="params file not found"):
        P.load(tmp_path / "nope.yaml")


FUNNEL = """
notebook: funnel
title: F
data: {url: data/sample}
period: {start: 2025-12-01, end: 2025-12-31}
"""


def test_funnel_defaults(tmp_path):
    p = P.load(write(tmp_path, FUNNEL))
    assert p.steps[0] == "page_view" and p.window_days == 7 and p.mode == "ordered"


@pytest.mark.parametrize(
    "extra, expected",
    [
        ("steps: [page_view]\n", "field 'steps'"),
        ("steps: [a, a]\n", "field .steps.: must be distinct"),
        ("window_days: 0\n", "field 'window_days'"),
        ("export_dropoff: {step: checkout, path: ../../etc/x.csv}\n", "must not contain '..'"),
        ("export_dropoff: {step: purchase, path: x.csv}\n", "export_dropoff.step must be one of"),
        ("compare_period: {start: 2025-10-31, end: 2025-10-01}\n", "field 'compare_period'"),
    ],
)
def test_funnel_bad_params(tmp_path, extra, expected):
    with pytest.raises(ParamsError, match=expected):
        P.load(write(tmp_path, FUNNEL + extra))


@pytest.mark.parametrize(
    "extra, expected",
    [
        (
            "steps: [page_view, chekout]\n",
            "field 'steps': unknown event 'chekout' (did you mean 'checkout'?)",
        ),
        ("exclusions: [nope]\n", "field 'exclusions': unknown event 'nope'"),
        ("breakdowns: [browser]\n", "field 'breakdowns': events has no column 'browser'"),
    ],
)
def test_funnel_params_checked_against_data(tmp_path, sample_dir, extra, expected):
    from analysis_lib.run import runner

    path = write(tmp_path, FUNNEL.replace("data/sample", str(sample_dir)) + extra)
    with pytest.raises(ParamsError) as exc:
        runner.prepare(path)
    assert str(exc.value) == f"{path}: {expected}"


def _ab_data(tmp_path, variants, metric_values=None):
    n = len(variants)
    df = pd.DataFrame(
        {
            "unit": [f"x{i}" for i in range(n)],
            "arm": variants,
            "m": metric_values if metric_values is not None else list(range(n)),
        }
    )
    d = tmp_path / "d"
    d.mkdir(exist_ok=True)
    df.to_parquet(d / "units.parquet")
    return d


AB = """
notebook: ab_test
title: A
data: {{url: {url}}}
period: {{start: 2025-01-01, end: 2025-01-31}}
unit_table: {{table: units, variant_column: arm}}
control: {control}
metrics: [{{name: m, kind: mean}}]
"""


@pytest.mark.parametrize(
    "variants, values, control, extra, expected",
    [
        (["a", "a"], None, "a", "", "only one variant ('a')"),
        (
            ["a", "b"],
            None,
            "ctrl",
            "",
            "field 'control': variant 'ctrl' not found (variants: a, b)",
        ),
        (
            ["a", "b"],
            ["x", "y"],
            "a",
            "",
            "field 'metrics': column 'm' of metric 'm' is string, not numeric",
        ),
        (
            ["a", "b"],
            None,
            "a",
            "planned_split: {a: 1, b: 1, c: 1}\n",
            "field 'planned_split': variants ['a', 'b', 'c'] do not match",
        ),
        (
            ["a", "b"],
            None,
            "a",
            "segments: [country]\n",
            "field 'segments': table 'units' has no column 'country'",
        ),
    ],
)
def test_ab_bad_inputs_one_line(tmp_path, variants, values, control, extra, expected):
    from analysis_lib.run import runner

    d = _ab_data(tmp_path, variants, values)
    path = write(tmp_path, AB.format(url=d, control=control) + extra)
    with pytest.raises(ParamsError) as exc:
        runner.prepare(path)
    assert "\n" not in str(exc.value)
    assert expected in str(exc.value)


@pytest.mark.parametrize(
    "extra, expected",
    [
        ("experiment_id: E1\n", "give exactly one of experiment_id"),
        ("guardrails: [{metric: nope}]\n", "guardrail metric 'nope' is not one of the metrics"),
        ("metrics: [{name: r, kind: ratio, numerator: a}]\n", "needs numerator and denominator"),
    ],
)
def test_ab_bad_params(tmp_path, extra, expected):
    text = AB.format(url="d", control="a")
    if extra.startswith("metrics"):
        text = text.replace("metrics: [{name: m, kind: mean}]\n", "")
    with pytest.raises(ParamsError, match=expected.replace("[", r"\[")):
        P.load(write(tmp_path, text + extra))


TS = """
notebook: target_setting
title: T
data: {url: DATA}
period: {start: 2025-01-01, end: 2025-12-31}
target_year: 2026
"""


@pytest.mark.parametrize(
    "extra, expected",
    [
        ("annual_target: 0\n", "field 'annual_target': Input should be greater than 0"),
        ("annual_target: -5\n", "field 'annual_target'"),
        ("annual_target: 100\ntarget_year: 2025\n", None),
    ],
)
def test_target_setting_bad_params(tmp_path, extra, expected):
    text = TS + extra
    if "target_year: 2025" in extra:
        text = text.replace("target_year: 2026\n", "")
        expected = "target_year 2025 must come after the history"
    with pytest.raises(ParamsError, match=expected):
        P.load(write(tmp_path, text))


def test_target_setting_needs_two_seasons(tmp_path, sample_dir):
    from analysis_lib.run import runner

    path = write(tmp_path, TS.replace("DATA", str(sample_dir)) + "annual_target: 100\n")
    with pytest.raises(
        ParamsError,
        match="field 'seasonal': a seasonal model needs two seasons .24 months. of history, the period has 12",
    ):
        runner.prepare(path)


def test_market_without_our_brand_names_the_field(tmp_path):
    from analysis_lib.run import runner

    d = tmp_path / "m"
    d.mkdir()
    pd.DataFrame(
        {"period": ["2025-01"], "brand": ["A"], "category": ["X"], "sales": [1.0]}
    ).to_parquet(d / "market.parquet")
    path = write(
        tmp_path,
        f"notebook: market_analysis\ntitle: M\ndata: {{url: {d}}}\nperiod: {{start: 2025-01-01, end: 2025-01-31}}\n",
    )
    with pytest.raises(ParamsError, match="field 'data.url': .*no row of our own brand"):
        runner.prepare(path)


CR = """
notebook: campaign_retro
title: C
data: {{url: {url}}}
period: {{start: 2025-07-01, end: 2025-10-23}}
campaign_id: {cid}
"""


@pytest.mark.parametrize(
    "cid, extra, expected",
    [
        ("NOPE", "", "field 'campaign_id': .*unknown campaign_id 'NOPE'"),
        (
            "C2025_1111",
            "seasonality: 200\n",
            "field 'seasonality': a season of 200 days needs a pre-period of at least 400 days",
        ),
        ("C2025_618", "", "field 'period': the pre-period must end before the campaign's pre-heat"),
    ],
)
def test_campaign_bad_inputs(tmp_path, sample_dir, cid, extra, expected):
    from analysis_lib.run import runner

    path = write(tmp_path, CR.format(url=sample_dir, cid=cid) + extra)
    with pytest.raises(ParamsError, match=expected):
        runner.prepare(path)


def test_campaign_spend_for_unknown_channel(tmp_path, sample_dir):
    from analysis_lib.run import runner

    d = tmp_path / "shop"
    d.mkdir()
    for p in sample_dir.iterdir():
        if p.name != "marketing_spend.parquet":
            (d / p.name).symlink_to(p)
    ms = pd.read_parquet(sample_dir / "marketing_spend.parquet")
    ms.loc[ms.index[0], "channel"] = "tv"
    ms.to_parquet(d / "marketing_spend.parquet")
    path = write(tmp_path, CR.format(url=d, cid="C2025_1111"))
    with pytest.raises(ParamsError, match="spend for channel 'tv', which no order has"):
        runner.prepare(path)


II = """
notebook: intervention_impact
title: I
data: {{url: {ref}}}
period: {{start: 2020-01-01, end: 2020-03-31}}
series: {{path: {ref}/google_data.csv, date_column: date, y: {y}, controls: [x1]}}
intervention: {t}
"""


@pytest.mark.parametrize(
    "y, t, expected",
    [
        ("revenue", "2020-03-02", "field 'series': .*no column 'revenue'"),
        ("y", "2021-01-01", "field 'intervention': 2021-01-01 is outside the data"),
    ],
)
def test_intervention_bad_inputs(tmp_path, y, t, expected):
    from pathlib import Path

    from analysis_lib.run import runner

    ref = Path(__file__).resolve().parent.parent / "analysis_lib" / "datasets" / "causalimpact"
    path = write(tmp_path, II.format(ref=ref, y=y, t=t))
    with pytest.raises(ParamsError, match=expected):
        runner.prepare(path)


def _funnel_with_export(tmp_path, path: str, extra: str = "", data: str = "shop") -> P.BaseParams:
    (tmp_path / "shop").mkdir(exist_ok=True)
    return P.load(
        write(
            tmp_path,
            f"notebook: funnel\ntitle: F\ndata: {{url: {data}}}\n"
            f"period: {{start: 2025-10-01, end: 2025-10-31}}\n"
            f"export_dropoff: {{step: page_view, path: {path}}}\n{extra}",
        )
    )


@pytest.mark.parametrize(
    "path, extra, data, refused",
    [
        ("exports/drop.csv", "", "shop", None),
        ("exports/crm/2025/drop.csv", "", "shop", None),
        ("drop.csv", "", "shop", "is outside exports/"),
        ("/tmp/x/drop.csv", "", "shop", "is outside exports/"),
        ("/tmp/x/drop.csv", "allow_outside_exports: true", "shop", None),
        ("shop/events.csv", "allow_outside_exports: true", "shop", "inside the data folder"),
        ("shop/new/drop.csv", "", "shop", "inside the data folder"),
        ("exports/drop.csv", "", "exports", "inside the data folder"),
        ("exports/shop.csv", "", "duckdb://exports/shop.csv", "inside the data folder"),
        ("reports/drop.csv", "allow_outside_exports: true", "shop", "must be outside reports/"),
        ("exports/drop.csv", "", "postgres://h/db", None),
    ],
)
def test_output_paths_stay_in_the_output_area(tmp_path, path, extra, data, refused):
    """Outputs go under exports/ (relative to the working directory); anywhere else only with
    allow_outside_exports, and never into the data, an input or the report folder."""
    p = _funnel_with_export(tmp_path, path, extra, data)
    if refused is None:
        P.check_outputs(p, "p.yaml", "reports", cwd=tmp_path)
        return
    with pytest.raises(ParamsError) as e:
        P.check_outputs(p, "p.yaml", "reports", cwd=tmp_path)
    assert str(e.value).startswith("p.yaml: field 'export_dropoff.path': ")
    assert refused in str(e.value) and "\n" not in str(e.value)


def test_output_through_a_symlink_into_the_data_is_refused(tmp_path):
    """A link under exports/ that points into the data folder does not open a way in."""
    (tmp_path / "shop").mkdir()
    (tmp_path / "exports").mkdir()
    (tmp_path / "exports" / "link").symlink_to(tmp_path / "shop")
    p = _funnel_with_export(tmp_path, "exports/link/events.csv")
    with pytest.raises(ParamsError, match="inside the data folder"):
        P.check_outputs(p, "p.yaml", "reports", cwd=tmp_path)


def test_validating_params_imports_no_statistics_library():
    """Every run imports every schema's module before anything executes (and ``workbook validate``
    does nothing else): the analyses a params check needs are imported inside the check, so this
    import stays free of scipy.stats and statsmodels (about 2 s of CPU on each run)."""
    import subprocess
    import sys

    code = (
        "import sys, analysis_lib.params; "
        "print(sorted(m for m in ('scipy.stats', 'statsmodels') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
