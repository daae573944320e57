"""Golden text of the target report's narrative, in both languages, from a small typed plan built
here: the exact cards, findings and actions a manager reads, and that their figures keep the
relations the report states (the two bases of the driver tree; P(reach) against the median)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis_lib.analyses import target_setting as T
from analysis_lib.present.context import use
from analysis_lib.present.narrative import target_setting as N

YTD = T.YearToDate(
    months=6,
    start=pd.Timestamp("2026-01-01"),
    end=pd.Timestamp("2026-06-01"),
    actual=500_000.0,
    target=600_000.0,
    forecast=400_000.0,
    ci_low=300_000.0,
    ci_high=1_100_000.0,
    level=0.8,
    rest_months=6,
    rest_target=700_000.0,
    rest_forecast=420_000.0,
    p_reach=0.3,
    outlook=920_000.0,
    outlook_lo=700_000.0,
    outlook_hi=1_400_000.0,
    n_sims=2000,
)


def _plan(
    p_reach: float = 0.25, target: float = 1_200_000.0, ytd: T.YearToDate | None = YTD
) -> T.TargetPlan:
    """Last twelve months CN¥600,000; baseline median CN¥800,000 (mean CN¥900,000, 80% interval
    CN¥500,000 – CN¥1.5M); a target of CN¥1.2M is +100% on the base = 1.33 (forecast) × 1.5.
    The year so far (``YTD``): CN¥500,000 of a CN¥600,000 target to date, forecast CN¥400,000 (its
    80% interval CN¥300,000 – CN¥1.1M: one compact, one full, written in one kind)."""
    hist = pd.DataFrame(
        {"gmv": [50_000.0] * 24}, index=pd.date_range("2024-01-01", periods=24, freq="MS")
    )
    months = T.target_months(2026)
    fc = T.Forecast(pd.DataFrame(index=months), np.zeros((1, 12)), 0.8, "m", np.log(1.02))
    f = T.Feasibility(
        target=target,
        baseline=800_000.0,
        mean=900_000.0,
        ci_low=500_000.0,
        ci_high=1_500_000.0,
        level=0.8,
        p_reach=p_reach,
        n_sims=2000,
    )
    factor = target / 600_000.0
    drivers = tuple(
        T.Driver(k, v, v * factor)
        for k, v in (
            ("uv", 30_000.0),
            ("conversion_rate", 0.1),
            ("orders_per_buyer", 1.0),
            ("aov", 200.0),
        )
    )
    tree = T.DriverTree(12, hist.index[12], hist.index[-1], 600_000.0, target, 800_000.0, drivers)
    return T.TargetPlan(
        year=2026,
        target=target,
        history=hist,
        months=months,
        forecast=fc,
        seasonal=True,
        promo=False,
        feasibility=f,
        tree=tree,
        monthly=pd.Series(target / 12, index=months),
        by_channel=None,
        by_category=None,
        scenarios=pd.DataFrame(),
        targets=pd.DataFrame(),
        actual=pd.Series(np.nan, index=months),
        split=T.MonthlySplit(pd.Series(target / 12, index=months), 0.7, (), ()),
        ytd=ytd,
    )


GOLDEN = {
    "en": {
        "cards": [
            ("Target 2026", "CN¥1.20M", "GMV, owner Ops lead", "+100.0% vs the last twelve months"),
            (
                "Baseline forecast (median)",
                "CN¥800,000",
                "80% interval CN¥500,000 – CN¥1,500,000; mean CN¥900,000",
                "+33.3% vs the last twelve months",
            ),
            (
                "Uplift needed on the baseline",
                "+50.0%",
                "target ÷ baseline median − 1; +CN¥400,000",
                "",
            ),
            (
                "P(reach target)",
                "30.0%",
                "actual 2026-01 – 2026-06 + forecast of the other 6 months: median year "
                "CN¥920,000; forecast alone 25.0%",
                "",
            ),
            (
                "Actual 2026-01 – 2026-06",
                "CN¥500,000",
                "target for these months CN¥600,000; forecast median CN¥400,000",
                "−16.7% vs the target to date",
            ),
        ],
        "findings": [
            "The baseline forecast for 2026 is CN¥800,000 (median; 80% interval "
            "CN¥500,000 – CN¥1,500,000), +33.3% on the last twelve months (2025-01 – "
            "2025-12) at CN¥600,000.",
            "It extends the trend at the end of the history (+2.0% a month) with monthly "
            "seasonality.",
            "The forecast is skewed: its mean, CN¥900,000, is above the median; the "
            "median is shown because half of the simulated years end below it.",
            "The target of CN¥1.20M is +50.0% above the baseline median; on the baseline "
            "it is reached in 25.0% of simulated years.",
            "So far (2026-01 – 2026-06) the year has CN¥500,000, 41.7% of the annual "
            "target: −16.7% against the target for these months (CN¥600,000) and +25.0% "
            "against the forecast median for them (CN¥400,000; 80% interval CN¥300,000 – "
            "CN¥1,100,000), a forecast fitted before these months. The remaining 6 months "
            "need CN¥700,000 to reach the target, against a forecast median of CN¥420,000 "
            "for them. With the actual so far and the forecast of the remaining months the year "
            "ends at CN¥920,000 (median; 80% interval CN¥700,000 – CN¥1,400,000) and reaches the "
            "target in 30.0% of simulated years (25.0% on the forecast alone).",
            "From the last twelve months the target needs +100.0%: the baseline forecast "
            "carries +33.3%, and +50.0% must come on top of it (as growth factors: 2.00 = "
            "1.33 × 1.50).",
        ],
        "actions": [
            "Lift each of the 4 drivers (UV, Conversion rate, Orders per buyer, AOV) by "
            "+10.7% beyond the baseline forecast: together +50.0%, CN¥400,000 above its "
            "median. That puts each driver 18.9% above the last twelve months, the driver "
            "tree's base (UV 35,676, Conversion rate 11.9%, Orders per buyer 1.19, AOV CN¥238), "
            "because the baseline forecast itself is 33.3% above them.",
            "Or lift one driver alone (one of UV, Conversion rate, Orders per buyer, AOV) "
            "by +50.0% beyond the baseline forecast, the others on their path: that puts it "
            '100.0% above the last twelve months, the driver tree\'s "needed alone" column.',
        ],
        "rule": "P(reach target) on the baseline below 50%; gap = target ÷ baseline median − 1 = "
        "+50.0%; the drivers multiply (GMV = UV × conversion rate × orders per buyer × "
        "AOV), so sharing it evenly is (1 + gap)^(1/4) − 1 = +10.7% each beyond the "
        "forecast, and 2.00^(1/4) − 1 = +18.9% each on the last twelve months (2.00 = "
        "target ÷ their GMV; the forecast's own change taken as shared evenly too)",
        "forecast_lead": "History and the forecast median by month with its 80% interval; the "
        "monthly targets split CN¥1.20M at the same point of every month's "
        "forecast (its 70.0% quantile), so each month follows the forecast's "
        "shape and is reached in 30.0% of simulated years, no month harder than "
        "another. The actual GMV of 2026-01 – 2026-06, which the forecast did not "
        "see, is drawn beside it.",
        "drivers_lead": "What each driver must become for GMV to reach the target, from its base: "
        "the last twelve months (2025-01 – 2025-12), GMV CN¥600,000; the target is "
        "+100.0% on it: for one driver alone, or +18.9% each when shared evenly. "
        "Beyond the baseline forecast these are +50.0% alone or +10.7% each (What "
        "to do).",
        "none": "the baseline forecast median (CN¥800,000) already reaches the target "
        "(CN¥700,000): P(reach target) is 60.0%, at least 50%; hold the drivers on their "
        "path and track the monthly targets below (rule: act when P(reach target) on the "
        "baseline is below 50%)",
    },
    "zh": {
        "cards": [
            ("2026 年目标", "¥120.0万", "GMV，负责人 Ops lead", "较最近十二个月 +100.0%"),
            (
                "基线预测（中位数）",
                "¥80.0万",
                "80% 区间 ¥50.0万 – ¥150.0万；均值 ¥90.0万",
                "较最近十二个月 +33.3%",
            ),
            ("较基线所需提升", "+50.0%", "目标 ÷ 基线中位数 − 1；差额 +¥40.0万", ""),
            (
                "达成目标概率",
                "30.0%",
                "2026-01 至 2026-06 实际 + 其余 6 个月预测：全年中位数 ¥92.0万；仅按预测 25.0%",
                "",
            ),
            (
                "2026-01 至 2026-06 实际",
                "¥50.0万",
                "同期目标 ¥60.0万；预测中位数 ¥40.0万",
                "较同期目标 −16.7%",
            ),
        ],
        "findings": [
            "2026 年基线预测为 ¥80.0万（中位数；80% 区间 ¥50.0万 – ¥150.0万），较最近十二个月（2025-01 至 2025-12）的 "
            "¥60.0万 +33.3%。",
            "预测延续历史末期的趋势（每月 +2.0%），并包含月度季节性。",
            "预测分布右偏：均值 ¥90.0万 高于中位数；报告采用中位数，因为一半的模拟年份低于它。",
            "目标 ¥120.0万 比基线中位数高 +50.0%；按基线，25.0% 的模拟年份能达成目标。",
            "截至目前（2026-01 至 2026-06）全年已实现 ¥50.0万，占全年目标的 "
            "41.7%：较同期目标（¥60.0万）−16.7%，较同期预测中位数（¥40.0万；80% 区间 ¥30.0万 – "
            "¥110.0万）+25.0%；该预测拟合时尚无这些月份的数据。其余 6 个月需实现 ¥70.0万 才能达成目标，而这些月份的预测中位数为 ¥42.0万。"
            "实际加其余月份的预测，全年中位数为 ¥92.0万（80% 区间 ¥70.0万 – ¥140.0万），"
            "30.0% 的模拟年份能达成目标（仅按预测为 25.0%）。",
            "以最近十二个月为基数，目标需要 +100.0%：基线预测自身带来 +33.3%，其余 +50.0% 需要额外达成（增长倍数：2.00 = 1.33 × "
            "1.50）。",
        ],
        "actions": [
            "将 4 个驱动因素（访客数 UV、转化率、人均订单数、客单价）各自在基线预测之上提升 +10.7%：合计 +50.0%，即比基线中位数多 "
            "¥40.0万。这样每个驱动因素比最近十二个月（驱动树的基数）高 18.9%（访客数 UV 35,676、转化率 11.9%、人均订单数 1.19、"
            "客单价 ¥238），因为基线预测本身就比最近十二个月高 33.3%。",
            "或仅靠单一驱动因素（访客数 UV、转化率、人均订单数、客单价之一）在基线预测之上提升 +50.0%，其余保持基线走势：这样该因素比最近十二个月"
            "高 100.0%，即驱动树中“单独达成目标所需”一列。",
        ],
        "rule": "按基线达成概率低于 50%；差距 = 目标 ÷ 基线中位数 − 1 = +50.0%；各驱动因素相乘（GMV = 访客数 × 转化率 × 人均订单数 × "
        "客单价），平均分摊即每个在预测之上 (1 + 差距)^(1/4) − 1 = +10.7%，以最近十二个月为基数每个 2.00^(1/4) − 1 = "
        "+18.9%（2.00 = 目标 ÷ 该期间 GMV；基线预测自身的变化同样视为平均分摊）",
        "forecast_lead": "历史数据与各月预测中位数及其 80% 区间；月度目标按各月预测的同一分位点（70.0% 分位数）分解 "
        "¥120.0万，因此各月目标遵循预测的月度形态，每月在 30.0% 的模拟年份中能达成，难度一致。图中同时画出 2026-01 至 "
        "2026-06 的实际 GMV（预测拟合时尚无这些数据）。",
        "drivers_lead": "各驱动因素需要达到的水平；基数：最近十二个月（2025-01 至 2025-12），GMV ¥60.0万；目标较基数 "
        "+100.0%：单一驱动因素独自承担，或平均分摊时每个 +18.9%。相对基线预测，即单独 +50.0% 或每个 +10.7%（见“行动建议”）。",
        "none": "基线预测中位数（¥80.0万）已达到目标（¥70.0万）：达成概率 60.0%，不低于 50%；保持各驱动因素的走势并跟踪下方月度目标（规则：按基线达成概率低于 "
        "50% 时才需行动）",
    },
}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_golden_text(lang):
    p, g = _plan(), GOLDEN[lang]
    with use(lang=lang, currency="CNY"):
        assert [(c.label, c.value, c.unit, c.change) for c in N.cards(p, "Ops lead")] == g["cards"]
        assert N.findings(p) == g["findings"]
        acts = N.actions(p)
        assert [a.text for a in acts] == g["actions"]
        assert acts[0].rule == g["rule"]
        assert N.forecast_lead(p) == g["forecast_lead"]
        assert N.drivers_lead(p) == g["drivers_lead"]
        calm = _plan(p_reach=0.6, target=700_000.0, ytd=None)
        assert N.actions(calm) == []
        assert N.no_action_reason(calm) == g["none"]
        assert len(N.cards(calm, "")) == 4  # no year so far: no fifth card, no finding on it
        assert not any(N.ytd_span(p) in f for f in N.findings(calm))


def test_the_action_and_the_driver_tree_are_one_plan():
    """Round 2: "Lift Orders, AOV +31.8% each" sat beside "Orders needed −40.7%". The action
    gives the change beyond the forecast and on the tree's base, and the levels it names are the
    base values times that change (the tree's "shared evenly" column)."""
    p = _plan()
    tree = p.tree
    with use(lang="en", currency="CNY"):
        text = N.actions(p)[0].text
        assert N.fmt(tree.shared_on_base(), "pct") + " above the last twelve months" in text
        for d in tree.drivers:
            assert N.driver_value(d.key, d.base * (1 + tree.shared_on_base())) in text
    assert (1 + tree.baseline_shared()) * (1 + tree.spread()) == pytest.approx(
        1 + tree.shared_on_base()
    )


def test_a_range_is_one_kind_of_money():
    with use(lang="en", currency="USD"):
        assert N.money_range(241_161, 2_545_418) == "$241,161 – $2,545,418"
        assert N.money_range(1_241_161, 2_545_418) == "$1.24M – $2.55M"
    with use(lang="zh", currency="CNY"):
        assert N.money_range(519_147, 1_581_304) == "¥51.9万 – ¥158.1万"


def test_the_even_share_multiplies_back_to_the_gap():
    """The rule printed beside the first action holds in its numbers: (1 + each)^n = 1 + gap."""
    p = _plan()
    assert (1 + p.tree.spread()) ** 4 == pytest.approx(1 + p.feasibility.required_uplift)
    with use(lang="en", currency="CNY"):
        assert N.fmt(p.tree.spread(), "signed_pct") == "+10.7%"


@pytest.mark.parametrize(
    "lang, said",
    [
        ("en", "The target of 2026-01, 2026-02 lies above the 80% interval"),
        ("zh", "2026-01、2026-02 的目标高于 80% 区间上限"),
    ],
)
def test_months_above_the_band_are_said(lang, said):
    """Round 2 (targets 2026): January to March were above the 80% upper bound, unsaid."""
    import dataclasses

    p = _plan()
    months = tuple(p.months[:2])
    p = dataclasses.replace(p, split=dataclasses.replace(p.split, above_band=months))
    with use(lang=lang, currency="CNY"):
        assert said in N.forecast_lead(p)
        assert said not in N.forecast_lead(_plan())
