"""The chart house rules (REPORTS.md "Charts") and their check.

Each planted bad chart breaks one rule that :func:`check` must name; each good chart, including
every shared chart in both languages, passes. Helpers are tested for what the reader sees: tick
labels that never repeat or print ``-0``, compact money in 万 in Chinese, rank 1 at the top, a
colour scale symmetric around its reference, partial buckets found.
"""

from __future__ import annotations

import datetime as dt
import json
import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from analysis_lib.present.charts import base as C  # noqa: E402
from analysis_lib.present.context import use  # noqa: E402

# a warning in a notebook is printed in the report: the charts raise none
pytestmark = pytest.mark.filterwarnings("error::UserWarning")


@pytest.fixture(autouse=True)
def theme():
    C.setup()
    with use(lang="en", currency="CNY"):
        yield
    plt.close("all")


def weekly(n: int = 13) -> pd.DataFrame:
    days = pd.date_range("2025-09-29", periods=n, freq="W-MON")
    df = pd.DataFrame(
        {
            "bucket": days,
            "gmv": np.linspace(1.2e5, 3.4e5, n),
            "orders": np.arange(n) * 10 + 100.0,
            "conversion_rate": np.linspace(0.08, 0.15, n),
            "aov": np.linspace(100, 130, n),
        }
    )
    df["complete"] = [False, *([True] * (n - 2)), False]
    return df


def problems_with(fig, word: str) -> list[str]:
    return [p for p in C.check(fig) if word in p]


# --- planted bad charts: each fails, naming its rule ---------------------------------------------


def test_overlapping_date_labels_fail():
    days = pd.date_range("2025-12-01", periods=60).strftime("%Y-%m-%d")
    fig, ax = plt.subplots(figsize=(9, 3))
    ax.plot(list(days), np.arange(60))
    ax.set_ylabel("Orders")
    found = problems_with(fig, "tick labels overlap")
    assert found and "'2025-12-01' and '2025-12-02'" in found[0]


def test_rotated_labels_that_do_not_touch_pass_and_crowded_ones_fail():
    """Rotated labels are compared as rotated rectangles: their bounding boxes overlap at 30°
    even when the words do not (here: 45°, 24 labels on 9 inches)."""
    fig, ax = plt.subplots(figsize=(9, 3))
    ax.bar([f"channel {i:02d}" for i in range(24)], np.arange(1, 25))
    ax.set_ylabel("Orders")
    for lbl in ax.get_xticklabels():
        lbl.set_rotation(45)
        lbl.set_ha("right")
        lbl.set_rotation_mode("anchor")
    fig.tight_layout()
    assert C.check(fig) == []
    fig2, ax2 = plt.subplots(figsize=(4, 3))
    ax2.bar([f"a long channel name {i}" for i in range(12)], np.arange(1, 13))
    ax2.set_ylabel("Orders")
    for lbl in ax2.get_xticklabels():
        lbl.set_rotation(30)
    assert problems_with(fig2, "tick labels overlap")


def test_small_text_fails():
    fig, ax = plt.subplots()
    ax.bar(["a", "b"], [1, 2])
    ax.set_ylabel("Orders")
    ax.text(0, 1.05, "tiny note", fontsize=6)
    found = problems_with(fig, "tiny note")
    assert found and "6.0 pt" in found[0] and "minimum 9 pt" in found[0]


def test_text_in_a_figure_too_wide_for_the_page_fails():
    """10 pt text in a 20-inch figure is shown at half size on the report page."""
    fig, ax = plt.subplots(figsize=(20, 3))
    ax.bar(["a", "b"], [1, 2])
    ax.set_ylabel("Orders", fontsize=10)
    found = problems_with(fig, "shrunk")
    assert found and any("'Orders'" in p for p in found)


def test_legend_over_bars_fails_and_outside_passes():
    fig, ax = plt.subplots(figsize=(7, 3))
    ax.bar(["a", "b", "c"], [10, 10, 10], label="GMV")
    ax.bar(["a", "b", "c"], [5, 5, 5], label="Orders")
    ax.set_ylabel("Orders")
    ax.legend(loc="upper left")
    assert problems_with(fig, "legend covers plotted data")
    C.legend_outside(ax)
    fig.tight_layout()
    assert C.check(fig) == []


def test_legend_over_a_line_fails_but_beside_it_passes():
    fig, ax = plt.subplots(figsize=(7, 3))
    ax.plot([0, 1, 2, 3], [0, 1, 2, 3], label="rate")
    ax.set_ylabel("Rate (%)")
    ax.legend(loc="center")
    assert problems_with(fig, "legend covers plotted data")
    ax.legend(loc="upper left")  # the line runs bottom left to top right: this corner is empty
    assert not problems_with(fig, "legend covers")


def test_text_outside_the_figure_fails():
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.plot([0, 1], [0, 1])
    ax.set_ylabel("Orders")
    ax.annotate("far away", (1, 1), xytext=(1.6, 0.5), textcoords="axes fraction")
    found = problems_with(fig, "outside the figure")
    assert found and "'far away'" in found[0]


def test_bare_numbers_without_a_title_fail():
    fig, ax = plt.subplots()
    ax.bar(["a", "b"], [1200, 3400])
    found = problems_with(fig, "bare numbers")
    assert found and found[0].startswith("y axis")
    ax.set_ylabel("Orders")
    assert not problems_with(fig, "bare numbers")
    fig2, ax2 = plt.subplots()  # tick labels that carry their unit need no title
    ax2.bar(["a", "b"], [0.1, 0.3])
    C.value_axis(ax2, "pct")
    assert not problems_with(fig2, "bare numbers")


def test_ticks_with_the_same_label_and_negative_zero_fail():
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0.001, 0.004])
    ax.set_ylabel("p-value")
    ax.yaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%.2f"))
    assert problems_with(fig, "labels different ticks the same: '0.00'")
    fig2, ax2 = plt.subplots()
    ax2.plot([-1, 1], [-1, 1])
    ax2.set_ylabel("Change")
    ax2.set_xticks([-0.001, 0.5], labels=["-0.0", "0.5"])
    assert problems_with(fig2, "negative zero")


def test_bubbles_cut_by_the_axes_edge_fail():
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.scatter([0.0, 1.0], [0.0, 1.0], s=3000)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("Share (%)")
    ax.set_ylabel("Growth (%)")
    assert problems_with(fig, "cut by the edge")
    ax.set_xlim(-0.5, 1.5)
    ax.set_ylim(-0.5, 1.5)
    assert not problems_with(fig, "cut by the edge")


# --- good charts pass ----------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_shared_charts_pass_in_both_languages(lang):
    s = weekly()
    rng = np.random.default_rng(1)
    with use(lang=lang):
        figs = {
            "kpi_trend": C.kpi_trend(s, ["gmv", "orders", "conversion_rate", "aov"]),
            "kpi_trend rank": C.kpi_trend(s.assign(our_rank=[3, 2, 2, 1] * 3 + [1]), ["our_rank"]),
            "kpi_trend months as text": C.kpi_trend(
                pd.DataFrame(
                    {
                        "bucket": pd.period_range("2024-01", periods=24, freq="M").astype(str),
                        "market_size": np.linspace(1e6, 2e6, 24),
                        "our_share": np.linspace(0.1, 0.2, 24),
                        "our_rank": [4] * 12 + [2] * 12,
                    }
                ),
                ["market_size", "our_share", "our_rank"],
            ),
            "heatmap": C.heatmap(
                pd.DataFrame(rng.random((6, 13)), columns=range(1, 14)),
                "Retention",
                xlabel="Months since first order",
            ),
            "heatmap money": C.heatmap(
                pd.DataFrame(rng.random((4, 12)) * 1e5, columns=range(1, 13)),
                "Cumulative GMV",
                kind="money",
                xlabel="Month",
            ),
            "rate_trend": C.rate_trend(s, "bucket", "conversion_rate", "Conversion", ylabel="CR"),
            "grouped_bars": C.grouped_bars(
                pd.DataFrame({"ch": ["app", "web", "mini program"], "gmv": [1e5, 2e5, 3e5]}).assign(
                    orders=lambda d: d.gmv * 0.7
                ),
                "ch",
                ["gmv", "orders"],
                "By channel",
                kind="money",
                ylabel="GMV",
            ),
            "empty_chart": C.empty_chart("Nothing"),
        }
        for name, fig in figs.items():
            assert C.check(fig) == [], name


def test_heatmap_annotations_are_at_least_9pt_and_scales_are_per_measure():
    table = pd.DataFrame(
        {"view→cart": [0.30, 0.40], "cart→buy": [0.50, 0.60], "overall": [0.02, 0.03]},
        index=["mobile", "desktop"],
    )
    fig = C.heatmap(table, "Rates", groups=[["view→cart", "cart→buy"], ["overall"]])
    ax = fig.axes[0]
    assert min(x.get_fontsize() for x in ax.texts) >= C.MIN_FONT_PT
    img = ax.images[0].get_array()
    # each measure spans its own scale: the top of 'overall' (3%) is as dark as the top of the
    # step rates (60%), though it would be the lightest cell on one shared scale
    assert np.allclose(img[1, 2], img[1, 1])
    one = C.heatmap(table, "Rates").axes[0].images[0].get_array()
    assert not np.allclose(one[1, 2], one[1, 1])


def test_partial_buckets_are_drawn_faded_not_as_a_crash():
    s = weekly()
    fig = C.kpi_trend(s, ["gmv"])
    ax = fig.axes[0]
    solid = ax.lines[0].get_ydata()
    assert np.isnan(solid[0]) and np.isnan(solid[-1]) and np.isfinite(solid[1:-1]).all()
    hollow = [ln for ln in ax.lines if ln.get_markerfacecolor() == "white"]
    assert hollow and len(hollow[0].get_xdata()) == 2


def test_complete_buckets():
    weeks = pd.to_datetime(["2025-09-29", "2025-10-06", "2025-12-29"])
    got = C.complete_buckets(weeks, "week", dt.date(2025, 10, 1), dt.date(2025, 12, 31))
    assert got.tolist() == [False, True, False]
    months = pd.to_datetime(["2025-10-01", "2025-11-01"])
    assert C.complete_buckets(
        months, "month", dt.date(2025, 10, 1), dt.date(2025, 11, 29)
    ).tolist() == [
        True,
        False,
    ]


# --- helpers -------------------------------------------------------------------------------------


def tick_labels(kind: str, locs: list[float]) -> list[str]:
    f = C.TickFormatter(kind)
    f.set_locs(locs)
    return [f(v) for v in locs]


def test_tick_labels_never_repeat_nor_print_negative_zero():
    assert tick_labels("pct", [0.1, 0.12, 0.14]) == ["10%", "12%", "14%"]
    assert tick_labels("pct", [0.121, 0.1215, 0.122]) == ["12.10%", "12.15%", "12.20%"]
    assert tick_labels("money", [-0.0001, 5e5, 1e6]) == ["0", "0.5M", "1.0M"]
    assert tick_labels("signed_pct", [-0.05, 0, 0.05]) == ["−5%", "0%", "+5%"]
    for kind in ("pct", "money", "count", "ratio"):
        locs = list(np.linspace(0.0011, 0.0019, 5))
        labels = tick_labels(kind, locs)
        assert len(set(labels)) == len(labels), (kind, labels)


def test_money_axis_titles_carry_the_currency_and_chinese_ticks_use_wan():
    with use(lang="zh", currency="CNY"):
        assert C.axis_title("GMV", "money") == "GMV（¥）"
        assert tick_labels("money", [0, 5e4, 1e5, 1.5e5]) == ["0", "5万", "10万", "15万"]
    with use(lang="en", currency="USD"):
        assert C.axis_title("GMV", "money") == "GMV ($)"
        assert C.axis_title("Orders", "count") == "Orders"


def test_rank_axis_puts_one_on_top():
    fig, ax = plt.subplots()
    ax.plot([0, 1, 2], [3, 2, 1])
    C.rank_axis(ax)
    lo, hi = ax.get_ylim()
    assert lo > hi  # inverted: rank 1 drawn at the top
    fig.canvas.draw()
    assert "#1" in [t.get_text() for t in ax.get_yticklabels()]
    plt.close(fig)
    with use(lang="zh"):  # a Chinese chart says 第 1 名 (as the tables), not "#1"
        fig, ax = plt.subplots()
        ax.plot([0, 1, 2], [3, 2, 1])
        C.rank_axis(ax)
        fig.canvas.draw()
        got = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
        assert "第 1 名" in got and not any("#" in x for x in got)
    plt.close(fig)


def test_diverging_scale_is_symmetric_around_the_reference():
    sc = C.diverging([-0.1, 0.4], center=0.0)
    norm = sc["norm"]
    assert norm(0.0) == pytest.approx(0.5)
    assert norm(-0.4) == pytest.approx(1 - norm(0.4))
    good, bad = sc["cmap"](norm(0.4)), sc["cmap"](norm(-0.4))
    assert good[1] > good[0] and bad[0] > bad[1]  # green above, red below


def test_chinese_date_axis_has_no_english_month_names():
    with use(lang="zh"):
        fig = C.rate_trend(weekly(), "bucket", "conversion_rate", "转化率", ylabel="转化率")
        texts = C.chart_texts(fig)
    assert any(x.endswith("月") for x in texts)
    assert not [x for x in texts if re.search("[A-Za-z]{2,}", x)]


def test_chart_log_records_every_problem_and_lets_the_run_go_on(tmp_path, monkeypatch):
    log = tmp_path / "charts.jsonl"
    monkeypatch.setenv(C.CHART_LOG_ENV, str(log))
    fig, ax = plt.subplots()
    ax.bar(["a", "b"], [1, 2])
    ax.text(0, 1, "tiny", fontsize=6)
    assert C.check(fig, "bars of a and b") == []
    rec = json.loads(log.read_text(encoding="utf-8"))
    assert rec["alt"] == "bars of a and b" and rec["lang"] == "en"
    assert "tiny" in rec["texts"] and any("tiny" in p for p in rec["problems"])


# --- saving: one draw, the tight crop ------------------------------------------------------------


def _tight_png(fig) -> np.ndarray:
    import io

    from PIL import Image

    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGBA")).astype(int)


def _count_draws(monkeypatch) -> list[int]:
    from matplotlib.figure import Figure

    calls = [0]
    draw = Figure.draw

    def counted(self, renderer):
        calls[0] += 1
        return draw(self, renderer)

    monkeypatch.setattr(Figure, "draw", counted)
    return calls


@pytest.mark.parametrize("layout", ["constrained", "tight"])
def test_a_chart_is_saved_with_one_draw_and_looks_as_a_tight_save(monkeypatch, layout):
    """blocks.png_bytes draws a figure once (a tight savefig draws it twice) and gives the same
    image: the same size in pixels, and the same pixels but for anti-aliasing (the crop is
    rounded to whole pixels where a tight save shifts the drawing by a fraction of one)."""
    import io

    from PIL import Image

    from analysis_lib.present.blocks import png_bytes

    def chart():
        if layout == "constrained":
            fig, axes = plt.subplots(2, 2, figsize=(8, 5), layout="constrained")
        else:
            fig, axes = plt.subplots(1, 2, figsize=(8, 3.5))
        for i, ax in enumerate(axes.flat):
            ax.plot(weekly()["bucket"], weekly()["gmv"] * (i + 1), label="GMV")
            ax.set_title("GMV by week")
            ax.set_ylabel("GMV (¥)")
            C.date_axis(ax)
        axes.flat[0].legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
        if layout == "tight":
            fig.tight_layout()
        return fig

    expected = _tight_png(chart())
    calls = _count_draws(monkeypatch)
    got = np.asarray(Image.open(io.BytesIO(png_bytes(chart()))).convert("RGBA")).astype(int)
    assert calls[0] == 1
    assert got.shape == expected.shape
    diff = np.abs(got - expected).max(axis=2)
    # measured: mean 3.0 of 255, 0.07% of pixels off by more than half (text anti-aliasing); the
    # crop one pixel off: mean 4.4 to 5.1, 0.7% off by more than half
    assert diff.mean() < 5 and (diff > 128).mean() < 0.005, (diff.mean(), (diff > 128).mean())


def test_a_chart_reaching_past_its_edge_is_saved_whole():
    """A legend placed past the figure's right edge (no layout makes room for it): the saved
    image still holds it, as a tight save widens the canvas for it."""
    import io

    from PIL import Image

    from analysis_lib.present.blocks import png_bytes

    def chart():
        fig, ax = plt.subplots(figsize=(6, 3))
        ax.plot([0, 1], [0, 1], label="a long legend entry that ends past the edge")
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1), frameon=False)
        return fig

    fig = chart()
    width_in = fig.get_figwidth() * fig.dpi
    got = np.asarray(Image.open(io.BytesIO(png_bytes(fig))))
    assert got.shape[1] > width_in  # wider than the figure: the legend is in
    assert got.shape == _tight_png(chart()).shape
