"""Golden text of the funnel report's sentences (present/narrative/funnel.py), in both languages,
from small typed results built here: the figures in each sentence follow from the counts below
(1,000 → 500 → 100 units against 800 → 400 → 120; mobile web 200 → 10 against app 300 → 90)."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis_lib.analyses import funnel as F
from analysis_lib.present.context import use
from analysis_lib.present.narrative import funnel as N
from analysis_lib.present.words import t

STEPS = ["page_view", "add_to_cart", "purchase"]


def result(cur=(1000, 500, 100), prev=(800, 400, 120), unit="user", segments=True, mw=10):
    spec = F.FunnelSpec(tuple(STEPS), unit=unit)
    table = F.step_table(list(cur), STEPS)
    previous = F.step_table(list(prev), STEPS) if prev else None
    comparison = F.compare_periods(table, previous) if prev else None
    seg = {}
    bts = {}
    if segments:
        seg = {
            "device": pd.DataFrame(
                {"page_view": [600, 400], "add_to_cart": [300, 200], "purchase": [90, mw]},
                index=["app", "mobile_web"],
            )
        }
        bts = {
            "channel": pd.DataFrame(
                {"entered": [700, 300], "overall": [0.12, 0.06]}, index=["email", "organic"]
            )
        }
    neck = F.bottleneck(comparison, seg) if prev else None
    gap = None if prev else F.largest_gap(table, seg)
    return F.FunnelResult(spec, table, previous, comparison, bts, seg, neck, [], gap)


GOLDEN = {
    "en": {
        "findings": [
            "1,000 users entered the funnel and 10.0% of them reached purchase (100): −5.0 pp (−33.3%) against the compare period (15.0%).",
            "The bottleneck is add to cart → purchase: its conversion fell from 30.0% to 20.0%, −10.0 pp (−33.3%), the largest fall of any step (p-value < 0.001).",
            "At that step Mobile web (device) converts 5.0% against 30.0% for the other devices: at their rate about 50 more users would have reached purchase.",
            "By entry channel, Email converts best through the funnel (12.0%) and Organic worst (6.0%).",
        ],
        "action": "Fix add to cart → purchase for Mobile web (device): 5.0% go on against 30.0% for the other devices; about 50 more users would reach purchase at their rate.",
        "rule": "the step whose conversion fell most against the compare period (two-proportion z-test), acted on when the fall is significant at the 5% level (here p-value < 0.001); at that step, the segment converting worst against the others pooled, across the breakdowns, among segments with at least 30 users there, named when the gap is significant at the 5% level (here p-value < 0.001)",
        "no_compare": [
            "1,000 users entered the funnel and 10.0% of them reached purchase (100).",
            "The params give no compare period, so the report names no bottleneck (the step whose conversion fell).",
            "The largest gap between segments is at add to cart → purchase: Mobile web (device) converts 5.0% against 30.0% for the other devices (adjusted p-value < 0.001): at their rate about 50 more users would have reached purchase.",
            "The lowest step conversion is add to cart → purchase (20.0%; 400 users stop there).",
            "By entry channel, Email converts best through the funnel (12.0%) and Organic worst (6.0%).",
        ],
        "gap_action": "Fix add to cart → purchase for Mobile web (device): 5.0% go on against 30.0% for the other devices; about 50 more users would reach purchase at their rate.",
        "gap_rule": "without a compare period, at each step and in each breakdown, the segment converting worst against the others pooled (segments with at least 30 users there); of the 2 gaps found, the one that costs the most users among those significant at the 5% level after a Bonferroni correction (here adjusted p-value < 0.001)",
        "gap_noise": "No segment converts significantly worse than the others at any step: the largest gap, Mobile web (device) at add to cart → purchase, 25.0% against 30.0% for the other devices, has an adjusted p-value of 0.45, not significant at the 5% level.",
        "gap_noise_why": "the params give no compare period, and no segment converts significantly worse than the others at any step (the largest gap, Mobile web (device) at add to cart → purchase, has adjusted p-value 0.45).",
        "no_compare_why": "the params give no compare period (to find a step whose conversion fell), and no breakdown has two segments with at least 30 users at a step to compare with each other.",
        "noise": [
            "100 sessions entered the funnel and 10.0% of them reached purchase (10): −2.0 pp (−16.7%) against the compare period (12.0%).",
            "The bottleneck is add to cart → purchase: its conversion fell from 24.0% to 20.0%, −4.0 pp (−16.7%), the largest fall of any step (p-value 0.63).",
            "That fall is not significant at the 5% level: inconclusive, the data cannot tell whether the step got worse.",
        ],
        "noise_why": "the largest fall, add to cart → purchase, −4.0 pp (−16.7%) with p-value 0.63, is not significant at the 5% level.",
        "no_fall": [
            "1,000 sessions entered the funnel and 15.0% of them reached purchase (150): +2.5 pp (+20.0%) against the compare period (12.5%).",
            "No step converted worse than in the compare period: there is no bottleneck.",
            "The lowest step conversion is add to cart → purchase (30.0%; 350 sessions stop there).",
        ],
        "no_fall_why": "no step converted worse than in the compare period.",
        "window": "Window: 36 hours of elapsed time from the chain's page view (real time across a change of clocks); a step exactly at its end counts; periods and days are the shop's clock (Asia/Shanghai).",
        "exclusion": "Sessions doing search after page view and before purchase (or within the window if they never reach purchase) are removed from every step.",
    },
    "zh": {
        "findings": [
            "共 1,000 个用户进入漏斗，其中 10.0% 完成支付（100 个），较对比期（15.0%）−5.0 个百分点（−33.3%）。",
            "瓶颈环节是加购 → 支付：其转化率从 30.0% 降至 20.0%，−10.0 个百分点（−33.3%），是各步骤中降幅最大的（p 值 < 0.001）。",
            "在该环节，手机网页（设备）的转化率为 5.0%，其他设备为 30.0%：若达到后者的水平，约可多 50 个用户完成支付。",
            "按进入渠道，邮件的整体转化率最高（12.0%），自然流量最低（6.0%）。",
        ],
        "action": "修复手机网页（设备）在加购 → 支付环节的问题：其转化率为 5.0%，其他设备为 30.0%；若达到后者水平，约可多 50 个用户完成支付。",
        "rule": "与对比期相比转化率降幅最大的步骤（两比例 z 检验），降幅在 5% 水平上显著时才建议行动（此处 p 值 < 0.001）；在该步骤，按各拆分维度找出相对其他分组合计转化最差的分组（该步骤至少 30 个用户），差距在 5% 水平上显著时才指出（此处 p 值 < 0.001）",
        "no_compare": [
            "共 1,000 个用户进入漏斗，其中 10.0% 完成支付（100 个）。",
            "参数未设置对比期，因此本报告不指出瓶颈环节（转化率下降的步骤）。",
            "分组差距最大的是加购 → 支付环节：手机网页（设备）的转化率为 5.0%，其他设备为 30.0%（校正后 p 值 < 0.001）：若达到后者的水平，约可多 50 个用户完成支付。",
            "步骤转化率最低的是加购 → 支付（20.0%；400 个用户在此流失）。",
            "按进入渠道，邮件的整体转化率最高（12.0%），自然流量最低（6.0%）。",
        ],
        "gap_action": "修复手机网页（设备）在加购 → 支付环节的问题：其转化率为 5.0%，其他设备为 30.0%；若达到后者水平，约可多 50 个用户完成支付。",
        "gap_rule": "未设置对比期时，在每一步、每个拆分维度中找出相对其他分组合计转化最差的分组（该步骤至少 30 个用户）；在找到的 2 个差距中，对经邦费罗尼校正后在 5% 水平上显著的，取损失用户最多的一个（此处校正后 p 值 < 0.001）",
        "gap_noise": "没有哪个分组在任何环节显著差于其他分组：差距最大的是手机网页（设备）在加购 → 支付环节，转化率 25.0%，其他设备为 30.0%，校正后 p 值 0.45，在 5% 水平上不显著。",
        "gap_noise_why": "参数未设置对比期，且没有哪个分组在任何环节显著差于其他分组（差距最大的是手机网页（设备）在加购 → 支付环节，校正后 p 值 0.45）。",
        "no_compare_why": "参数未设置对比期（无法找出转化率下降的步骤），也没有哪个拆分维度在某一步有两个至少 30 个用户的分组可供相互比较。",
        "noise": [
            "共 100 个会话进入漏斗，其中 10.0% 完成支付（10 个），较对比期（12.0%）−2.0 个百分点（−16.7%）。",
            "瓶颈环节是加购 → 支付：其转化率从 24.0% 降至 20.0%，−4.0 个百分点（−16.7%），是各步骤中降幅最大的（p 值 0.63）。",
            "该降幅在 5% 水平上不显著：不确定，数据不足以判断该步骤是否变差。",
        ],
        "noise_why": "降幅最大的加购 → 支付为 −4.0 个百分点（−16.7%），p 值 0.63，在 5% 水平上不显著。",
        "no_fall": [
            "共 1,000 个会话进入漏斗，其中 15.0% 完成支付（150 个），较对比期（12.5%）+2.5 个百分点（+20.0%）。",
            "与对比期相比，没有任何步骤的转化率下降：不存在瓶颈环节。",
            "步骤转化率最低的是加购 → 支付（30.0%；350 个会话在此流失）。",
        ],
        "no_fall_why": "与对比期相比，没有任何步骤的转化率下降。",
        "window": "转化窗口：从路径的浏览页面起 36 小时的实际经过时间（跨夏令时也按真实时间）；恰在窗口末尾的步骤计入；统计期与日期按店铺时区 Asia/Shanghai 的当地时间。",
        "exclusion": "在浏览页面之后、支付之前（未到达支付时为窗口内）发生“search”事件的会话，从所有步骤中剔除。",
    },
}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_bottleneck_segment_and_action(lang):
    g = GOLDEN[lang]
    with use(lang=lang):
        r = result()
        assert N.findings(r) == g["findings"]
        acts, why = N.actions(r)
        assert [(a.text, a.rule) for a in acts] == [(g["action"], g["rule"])] and why == ""


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_without_compare_period_the_largest_significant_segment_gap_is_the_action(lang):
    """No compare period: no bottleneck, but the segment gap that costs the most units, when
    significant after the Bonferroni correction, is the action, with its rule."""
    g = GOLDEN[lang]
    with use(lang=lang):
        r = result(prev=None)
        assert N.findings(r) == g["no_compare"]
        acts, why = N.actions(r)
        assert [(a.text, a.rule) for a in acts] == [(g["gap_action"], g["gap_rule"])] and why == ""


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_without_compare_period_a_gap_that_is_not_significant_gives_no_action(lang):
    """mobile web 50 / 200 against app 90 / 300: p = 0.22, 0.45 after the correction for the
    two gaps (one per step): said, and no action."""
    g = GOLDEN[lang]
    with use(lang=lang):
        r = result(prev=None, mw=50)
        assert r.gap is not None and r.gap.tested == 2 and not r.gap.significant
        assert N.findings(r)[2] == g["gap_noise"]
        assert N.actions(r) == ([], g["gap_noise_why"])


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_without_compare_period_or_segments_why_no_action(lang):
    g = GOLDEN[lang]
    with use(lang=lang):
        r = result(prev=None, segments=False)
        assert N.findings(r)[1] == g["no_compare"][1] and len(N.findings(r)) == 3
        assert N.actions(r) == ([], g["no_compare_why"])


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_method_notes_give_only_the_rules_that_apply(lang):
    """With a compare period the z-test and the bottleneck; without one the segment gap (only
    with breakdowns); the two channel conversions only with a channel breakdown."""
    spec = F.FunnelSpec(tuple(STEPS), unit="session")
    with use(lang=lang):
        keys = {
            k: t(f"funnel.method.{k}", min="30", unit=N.unit(spec))
            for k in ("compare_test", "bottleneck", "gap", "channels")
        }
        with_cmp = N.method_notes(spec, "UTC", "week", True, ("channel", "device"))
        no_cmp = N.method_notes(spec, "UTC", "week", False, ("device",))
        bare = N.method_notes(spec, "UTC", "week", False, ())
    assert {k for k, v in keys.items() if v in with_cmp} == {
        "compare_test",
        "bottleneck",
        "channels",
    }
    assert {k for k, v in keys.items() if v in no_cmp} == {"gap"}
    assert not {k for k, v in keys.items() if v in bare}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_fall_that_is_not_significant_gives_no_action(lang):
    g = GOLDEN[lang]
    with use(lang=lang):
        r = result((100, 50, 10), (100, 50, 12), unit="session", segments=False)
        assert N.findings(r) == g["noise"]
        assert N.actions(r) == ([], g["noise_why"])


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_no_step_fell(lang):
    g = GOLDEN[lang]
    with use(lang=lang):
        r = result((1000, 500, 150), (800, 400, 100), unit="session", segments=False)
        assert N.findings(r) == g["no_fall"]
        assert N.actions(r) == ([], g["no_fall_why"])


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_method_notes_name_unit_window_and_exclusion(lang):
    g = GOLDEN[lang]
    spec = F.FunnelSpec(tuple(STEPS), unit="session", window=36 * 3600, exclusions=("search",))
    with use(lang=lang):
        notes = N.method_notes(spec, "Asia/Shanghai", "week")
    assert g["window"] in notes and g["exclusion"] in notes


def test_window_in_the_largest_whole_unit():
    with use(lang="en"):
        assert [N.window_text(s) for s in (7 * 86400, 86400, 5400, 90, 1)] == [
            "7 days",
            "1 day",
            "90 minutes",
            "90 seconds",
            "1 second",
        ]
    with use(lang="zh"):
        assert N.window_text(36 * 3600) == "36 小时"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_compare_period_without_units_is_said_not_compared(lang):
    """A compare period with nobody in the funnel (data that starts later) is no comparison: no
    "n/a against n/a", no claim that no step fell."""
    want = {
        "en": (
            "The compare period has no users in the funnel: there is nothing to compare with, and no bottleneck.",
            "the compare period has no users in the funnel to compare with.",
        ),
        "zh": (
            "对比期内没有进入漏斗的用户：无从比较，也无法指出瓶颈环节。",
            "对比期内没有可供比较的用户。",
        ),
    }[lang]
    with use(lang=lang):
        r = result(prev=(0, 0, 0), segments=False)
        said = N.findings(r)
        assert said[0] == GOLDEN[lang]["no_compare"][0] and said[1] == want[0]
        assert N.actions(r) == ([], want[1])
