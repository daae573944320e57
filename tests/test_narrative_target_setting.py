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


def _plan(p_reach: float = 0.25, target: float = 1_200_000.0) -> T.TargetPlan:
    """Last twelve months CN¥600,000; baseline median CN¥800,000 (mean CN¥900,000, 80% interval
    CN¥500,000 – CN¥1.5M); a target of CN¥1.2M is +100% on the base = ×1.33 (forecast) × ×1.5."""
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
    )


GOLDEN = {
    "en": {
        "cards": [
            ("Target 2026", "CN¥1.20M", "GMV, owner Ops lead", "+100.0% vs the last twelve months"),
            (
                "Baseline forecast (median)",
                "CN¥800,000",
                "80% interval CN¥500,000 – CN¥1.50M; mean CN¥900,000",
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
                "25.0%",
                "share of 2,000 simulated years at or above the target",
                "",
            ),
        ],
        "findings": [
            "The baseline forecast for 2026 is CN¥800,000 (median; 80% interval CN¥500,000 – CN¥1.50M), +33.3% on the last twelve months (2025-01 – 2025-12) at CN¥600,000.",
            "It extends the trend at the end of the history (+2.0% a month) with monthly seasonality.",
            "The forecast is skewed: its mean, CN¥900,000, is above the median; the median is shown because half of the simulated years end below it.",
            "The target of CN¥1.20M is +50.0% above the baseline median; on the baseline it is reached in 25.0% of simulated years.",
            "From the last twelve months the target needs +100.0%: the baseline forecast carries +33.3%, and +50.0% must come on top of it (×2.00 = ×1.33 × ×1.50).",
        ],
        "actions": [
            "Lift each of the 4 drivers (UV, Conversion rate, Orders per buyer, AOV) by +10.7% beyond its baseline path: together +50.0%, CN¥400,000 above the baseline median.",
            "Or one driver alone by +50.0% beyond its baseline path, the others on theirs: UV, Conversion rate, Orders per buyer, AOV.",
        ],
        "rule": "P(reach target) on the baseline below 50%; gap = target ÷ baseline median − 1 = +50.0%; the drivers multiply (GMV = UV × conversion rate × orders per buyer × AOV), so sharing it evenly is (1 + gap)^(1/4) − 1 = +10.7% each",
        "none": "the baseline forecast median (CN¥800,000) already reaches the target (CN¥700,000): P(reach target) is 60.0%, at least 50%; hold the drivers on their path and track the monthly targets below (rule: act when P(reach target) on the baseline is below 50%)",
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
            ("达成目标概率", "25.0%", "2,000 次模拟中全年达到或超过目标的比例", ""),
        ],
        "findings": [
            "2026 年基线预测为 ¥80.0万（中位数；80% 区间 ¥50.0万 – ¥150.0万），较最近十二个月（2025-01 至 2025-12）的 ¥60.0万 +33.3%。",
            "预测延续历史末期的趋势（每月 +2.0%），并包含月度季节性。",
            "预测分布右偏：均值 ¥90.0万 高于中位数；报告采用中位数，因为一半的模拟年份低于它。",
            "目标 ¥120.0万 比基线中位数高 +50.0%；按基线，25.0% 的模拟年份能达成目标。",
            "以最近十二个月为基数，目标需要 +100.0%：基线预测自身带来 +33.3%，其余 +50.0% 需要额外达成（×2.00 = ×1.33 × ×1.50）。",
        ],
        "actions": [
            "将 4 个驱动因素（访客数 UV、转化率、人均订单数、客单价）各自在基线走势之上提升 +10.7%：合计 +50.0%，即比基线中位数多 ¥40.0万。",
            "或仅靠单一驱动因素在基线走势之上提升 +50.0%，其余保持基线走势：访客数 UV、转化率、人均订单数、客单价。",
        ],
        "rule": "按基线达成概率低于 50%；差距 = 目标 ÷ 基线中位数 − 1 = +50.0%；各驱动因素相乘（GMV = 访客数 × 转化率 × 人均订单数 × 客单价），平均分摊即每个 (1 + 差距)^(1/4) − 1 = +10.7%",
        "none": "基线预测中位数（¥80.0万）已达到目标（¥70.0万）：达成概率 60.0%，不低于 50%；保持各驱动因素的走势并跟踪下方月度目标（规则：按基线达成概率低于 50% 时才需行动）",
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
        calm = _plan(p_reach=0.6, target=700_000.0)
        assert N.actions(calm) == []
        assert N.no_action_reason(calm) == g["none"]


def test_the_even_share_multiplies_back_to_the_gap():
    """The rule printed beside the first action holds in its numbers: (1 + each)^n = 1 + gap."""
    p = _plan()
    assert (1 + p.tree.spread()) ** 4 == pytest.approx(1 + p.feasibility.required_uplift)
    with use(lang="en", currency="CNY"):
        assert N.fmt(p.tree.spread(), "signed_pct") == "+10.7%"
