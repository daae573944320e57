"""Golden text of the KPI monitor's narrative (analysis_lib.present.narrative.kpi_monitor) in
both languages, from a small typed result built here: every sentence a manager reads, exactly.

The result is two weeks with a partial week on each side, a previous period the data covers, a
last-year base it does not (orders start five days into it, no events), GMV 4% below target, a
channel that fell 20% and a refund rate up 2 pp, so every finding and every action rule speaks.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pandas as pd
import pytest

from analysis_lib.analyses import kpi
from analysis_lib.present.context import use
from analysis_lib.present.narrative import kpi_monitor as N

START, END = dt.date(2025, 10, 1), dt.date(2025, 10, 14)
NAN = float("nan")


def totals(gmv, orders, buyers, uv, refunded, new) -> dict[str, float]:
    return {
        "gmv": gmv,
        "orders": orders,
        "buyers": buyers,
        "uv": uv,
        "refunded_gmv": refunded,
        "new_buyers": new,
        "returning_buyers": buyers - new,
        "aov": gmv / orders,
        "conversion_rate": buyers / uv if uv == uv else NAN,
        "refund_rate": refunded / gmv,
        "orders_per_buyer": orders / buyers,
    }


def result(**changes) -> kpi.KpiMonitor:
    cur = totals(12000.0, 100.0, 80.0, 1000.0, 600.0, 20.0)
    prev = totals(10000.0, 80.0, 64.0, 1000.0, 300.0, 16.0)
    series = pd.DataFrame(
        {
            "bucket": pd.to_datetime(["2025-09-29", "2025-10-06", "2025-10-13"]),
            "buyers": [30.0, 50.0, 10.0],
            "uv": [400.0, 600.0, 200.0],
            "days": [5, 7, 2],
            "complete": [False, True, False],
        }
    )
    channel = pd.DataFrame(
        {
            "value": ["search", "email"],
            "gmv": [8000.0, 4000.0],
            "previous": [5000.0, 5000.0],
            "change": [3000.0, -1000.0],
            "change_pct": [0.6, -0.2],
        }
    )
    r = kpi.KpiMonitor(
        start=START,
        end=END,
        grain="week",
        data_end=END,
        traffic=True,
        unavailable={},
        totals=cur,
        previous=prev,
        last_year=dict.fromkeys(cur, NAN),
        pop=kpi.ComparisonBase("pop", dt.date(2025, 9, 17), dt.date(2025, 9, 30), {}),
        yoy=kpi.ComparisonBase(
            "yoy", dt.date(2024, 10, 1), dt.date(2024, 10, 14), {"orders": dt.date(2024, 10, 6)}
        ),
        series=series,
        previous_series=series,
        decomposition=kpi.gmv_decomposition(cur, prev),
        targets=[kpi.TargetComparison("gmv", 12000.0, 12500.0, -0.04, 14, 14, [(START, END)])],
        target_line=pd.Series([NAN, NAN, NAN]),
        breakdowns=[kpi.Breakdown("channel", channel)],
    )
    return replace(r, **changes)


FINDINGS = {
    "en": [
        "GMV was CN¥12,000 from 2025-10-01 to 2025-10-14: +20.0% against the previous period and "
        "n/a year on year.",
        "Year-over-year changes are n/a for GMV, orders, buyers, AOV, conversion rate, refund "
        "rate: the base period 2024-10-01 – 2024-10-14 is not covered by the data (the orders "
        "data starts on 2024-10-06).",
        "GMV changed by +CN¥2,000 against the previous period: conversion rate added most "
        "(+CN¥2,448), while AOV pulled it down most (−CN¥448).",
        "Conversion rate was 8.0%, +1.6 pp (+25.0%) against the previous period: 80 buyers among "
        "1,000 visitors, each counted once over the period. Counted once per week, as in the "
        "trend, it was 7.5%.",
        "25.0% of the 80 buyers bought for the first time.",
        "Refund rate was 5.0%, +2.0 pp (+66.7%) against the previous period.",
        "GMV reached 96.0% of its target (CN¥12,000 against CN¥12,500; deviation rate −4.0%).",
    ],
    "zh": [
        "2025-10-01 至 2025-10-14 GMV 为 ¥12,000，环比 +20.0%，同比 无数据。",
        "同比（GMV（成交额）、订单数、购买用户数、客单价、转化率、退款率）无法计算：基期 "
        "2024-10-01 至 2024-10-14 不在数据范围内（订单数据从 2024-10-06 开始）。",
        "与上一周期相比 GMV 变化 +¥2,000：拉动最多的是转化率（+¥2,448），拖累最多的是客单价"
        "（−¥448）。",
        "转化率为 8.0%，较上期 +1.6 个百分点（+25.0%）：整个统计期去重的 1,000 位访客中有 80 "
        "位购买。按趋势图的口径（每周计一次）为 7.5%。",
        "80 位购买用户中有 25.0% 为首次购买。",
        "退款率为 5.0%，较上期 +2.0 个百分点（+66.7%）。",
        "GMV（成交额）完成目标的 96.0%（实际 ¥12,000，目标 ¥12,500，偏差率 −4.0%）。",
    ],
}

CARDS = {  # value, base, change, tone
    "en": [
        ("CN¥12,000", "paid and refunded orders", "+20.0% vs previous period", "good"),
        ("100", "paid and refunded orders", "+25.0% vs previous period", "good"),
        (
            "8.0%",
            "buyers (paid or refunded orders) / visitors, each counted once over the period; 7.5% "
            "counting them once per week",
            "+1.6 pp (+25.0%) vs previous period",
            "good",
        ),
        ("CN¥120", "GMV / orders", "−4.0% vs previous period", "bad"),
        ("5.0%", "refunded GMV / GMV", "+2.0 pp (+66.7%) vs previous period", "bad"),
    ],
    "zh": [
        ("¥1.20万", "已支付及已退款订单", "较上期 +20.0%", "good"),
        ("100", "已支付及已退款订单", "较上期 +25.0%", "good"),
        (
            "8.0%",
            "购买用户（已支付或已退款订单）/ 访客（整个统计期去重）；按每周计一次为 7.5%",
            "较上期 +1.6 个百分点（+25.0%）",
            "good",
        ),
        ("¥120", "GMV / 订单数", "较上期 −4.0%", "bad"),
        ("5.0%", "退款金额 / GMV", "较上期 +2.0 个百分点（+66.7%）", "bad"),
    ],
}

ACTIONS = {  # most urgent first: below target, the channel that fell most, refunds
    "en": [
        (
            "GMV is 4.0% below target (CN¥12,000 against CN¥12,500) though it rose 20.0% against "
            "the previous period: the shortfall is against the target's level, not a fall; check "
            "the growth the target assumes against the trend.",
            "GMV more than 3.0% below target → if GMV fell against the comparison base, the driver "
            "that pulled it down most; if it rose, the target's level",
        ),
        (
            "Look into the channel Email: the largest loss in GMV of any channel against the "
            "previous period, CN¥1,000 (−20.0%: CN¥5,000 → CN¥4,000).",
            "a channel or device whose GMV fell more than 10.0% against the comparison base → the "
            "one with the largest fall in money",
        ),
        (
            "Review the refunded orders by product and reason: the refund rate rose +2.0 pp "
            "(+66.7%) against the previous period to 5.0%.",
            "refund rate up more than 1.0 pp against the comparison base",
        ),
    ],
    "zh": [
        (
            "GMV 低于目标 4.0%（实际 ¥12,000，目标 ¥12,500），但较上一周期增长 20.0%：差距来自目标"
            "水平而非下滑，请对照趋势复核目标所假设的增长。",
            "GMV 低于目标 3.0% 以上 → 若 GMV 较对比基期下降，排查拖累最多的驱动因素；若上升，复核目标"
            "水平",
        ),
        (
            "排查渠道「邮件」：其 GMV 较上一周期减少 ¥1,000（−20.0%：¥5,000 → ¥4,000），是各渠道中 "
            "GMV 减少金额最大的。",
            "GMV 较对比基期下降超过 10.0% 的渠道或设备 → GMV 减少金额最大者",
        ),
        (
            "按商品和原因复查退款订单：退款率较上一周期上升 +2.0 个百分点（+66.7%），达到 5.0%。",
            "退款率较对比基期上升超过 1.0 个百分点",
        ),
    ],
}

NO_ACTION = {
    "en": "GMV is not more than 3.0% below target, no channel or device fell more than 10.0% "
    "against the comparison base, the refund rate did not rise more than 1.0 pp, the previous "
    "period and this one hold the same campaigns, and the data runs to the period's end.",
    "zh": "GMV 未低于目标 3.0% 以上，没有渠道或设备较对比基期下降超过 10.0%，退款率上升未超过 1.0 "
    "个百分点，本期与上一周期的活动情况相同，数据覆盖到统计期末。",
}

TREND_LEAD = {
    "en": "Each point is one week, with visitors and buyers counted once per week. The faded line "
    "is the previous period, shifted onto this one. Hollow points are partial weeks: part of the "
    "week lies outside the period or the data, so they are not read as a fall.",
    "zh": "每个点为一周，访客和购买用户每周计一次。浅色线为上一周期（平移对齐到本期）。空心点为不完整"
    "的周：该周有部分天数不在统计期或数据内，不应解读为下滑。",
}

LANGS = ["en", "zh"]


@pytest.mark.parametrize("lang", LANGS)
def test_findings(lang):
    with use(lang=lang, currency="CNY"):
        assert N.findings(result()) == FINDINGS[lang]


@pytest.mark.parametrize("lang", LANGS)
def test_cards_give_rates_in_pp_first_and_colour_by_metric(lang):
    with use(lang=lang, currency="CNY"):
        cards = N.cards(result())
    assert [c.key for c in cards] == ["gmv", "orders", "conversion_rate", "aov", "refund_rate"]
    assert [(c.value, c.unit, c.change, c.tone) for c in cards] == CARDS[lang]
    assert [c.direction for c in cards] == ["up", "up", "up", "down", "up"]


@pytest.mark.parametrize("lang", LANGS)
def test_actions_with_their_rules(lang):
    with use(lang=lang, currency="CNY"):
        got = [(a.text, a.rule) for a in N.actions(result())]
        assert N.no_action_reason() == NO_ACTION[lang]
    assert got == ACTIONS[lang]


def test_no_action_when_no_rule_fires():
    """On target, no channel down, refund rate flat: nothing to do (the report says why)."""
    r = result(
        targets=[kpi.TargetComparison("gmv", 12000.0, 12100.0, 12000 / 12100 - 1, 14, 14, [])],
        breakdowns=[],
        previous=result().totals,
    )
    assert kpi.signals(r) == []


def test_late_feed_first_and_below_target_while_gmv_rose():
    """Data ending two days early comes first; GMV below target while GMV and every driver rose
    names no driver but the target's level."""
    cur = result().totals
    prev = totals(9000.0, 78.0, 70.0, 900.0, 300.0, 16.0)  # every driver lower than now
    r = result(data_end=dt.date(2025, 10, 12), decomposition=kpi.gmv_decomposition(cur, prev))
    with use(lang="en", currency="USD"):
        got = [a.text for a in N.actions(r)][:2]
    assert got == [
        "Check the data feeds before reading the last weeks: the data ends on 2025-10-12, 2 days "
        "before the period's end.",
        "GMV is 4.0% below target ($12,000 against $12,500) though it rose 20.0% against the "
        "previous period: the shortfall is against the target's level, not a fall; check the "
        "growth the target assumes against the trend.",
    ]


FELL = {  # GMV down against the previous period: the driver that pulled it down most
    "en": (
        "GMV changed by −CN¥2,000 against the previous period: AOV pulled it down most "
        "(−CN¥2,000), while orders per buyer added most (+CN¥1,528).",
        "GMV is 4.0% below target (CN¥12,000 against CN¥12,500) and fell 14.3% against the "
        "previous period: look at AOV first, the driver that pulled it down most (−CN¥2,000).",
    ),
    "zh": (
        "与上一周期相比 GMV 变化 −¥2,000：拖累最多的是客单价（−¥2,000），拉动最多的是人均订单数"
        "（+¥1,528）。",
        "GMV 低于目标 4.0%（实际 ¥12,000，目标 ¥12,500），且较上一周期下降 14.3%：优先排查客单价，"
        "它是拖累 GMV 最多的因素（−¥2,000）。",
    ),
}


@pytest.mark.parametrize("lang", LANGS)
def test_a_fall_names_the_driver_that_pulled_gmv_down_most(lang):
    """Words by sign: a drag is "pulled down", never "contributed"; a target miss while GMV fell
    names the driver with the largest negative contribution."""
    prev = totals(14000.0, 100.0, 90.0, 1000.0, 300.0, 16.0)
    r = result(
        previous=prev,
        decomposition=kpi.gmv_decomposition(result().totals, prev),
        breakdowns=[],
    )
    with use(lang=lang, currency="CNY"):
        assert (N.findings(r)[2], N.actions(r)[0].text) == FELL[lang]


CAMPAIGN = {  # the previous period held a campaign, this one and last year none
    "en": [
        "The previous period (2025-09-17 – 2025-09-30) held Autumn sale (2025-09-20 – 2025-09-22) "
        "and this period holds none: the −20.0% against it is measured on a campaign base, not a "
        "fall to fix. Against last year, with no campaign on the same dates either, GMV is "
        "+33.3%; the rules of What to do compare with last year.",
        "Do not treat the −20.0% against the previous period as a problem to fix: that period "
        "held Autumn sale (2025-09-20 – 2025-09-22). Compare with last year instead (+33.3%).",
        "only one of this period and the previous period holds a campaign (campaigns table) → "
        "compare with last year, not the previous period",
        "GMV is 4.0% below target (CN¥12,000 against CN¥12,500) though it rose 33.3% against "
        "last year: the shortfall is against the target's level, not a fall; check the growth "
        "the target assumes against the trend.",
    ],
    "zh": [
        "上一周期（2025-09-17 至 2025-09-30）包含活动「Autumn sale」（2025-09-20 至 2025-09-22），"
        "本期没有：环比 −20.0% 以活动期为基数，并非需要处理的下滑。去年同期同样没有活动，GMV 同比 "
        "+33.3%；行动建议的规则以去年同期为对比基期。",
        "不要把环比 −20.0% 当作需要处理的问题：上一周期包含活动「Autumn sale」（2025-09-20 至 "
        "2025-09-22）。请改与去年同期对比（+33.3%）。",
        "本期与上一周期中只有一个包含活动（campaigns 表）→ 与去年同期对比，而非上一周期",
        "GMV 低于目标 4.0%（实际 ¥12,000，目标 ¥12,500），但较去年同期增长 33.3%：差距来自目标"
        "水平而非下滑，请对照趋势复核目标所假设的增长。",
    ],
}


@pytest.mark.parametrize("lang", LANGS)
def test_a_campaign_in_the_previous_period_moves_the_rules_to_last_year(lang):
    """A campaign planted in the previous period: the findings and the first action say so and
    give the change against last year; the channel that fell 20% against the campaign base and
    the refund rate up 3 pp against it fire nothing, as against last year neither moved."""
    prev = totals(15000.0, 110.0, 90.0, 1000.0, 300.0, 16.0)
    grew = (
        result()
        .breakdowns[0]
        .table.assign(previous=[6000.0, 3000.0], change=[2000.0, 1000.0], change_pct=[1 / 3, 1 / 3])
    )
    sale = kpi.Campaign("Autumn sale", dt.date(2025, 9, 20), dt.date(2025, 9, 22))
    r = result(
        previous=prev,
        decomposition=kpi.gmv_decomposition(result().totals, prev),
        last_year=totals(9000.0, 75.0, 60.0, 800.0, 400.0, 15.0),
        pop=replace(result().pop, campaigns=(sale,)),
        yoy=kpi.ComparisonBase("yoy", dt.date(2024, 10, 1), dt.date(2024, 10, 14), {}),
        breakdowns_yoy=[kpi.Breakdown("channel", grew)],
    )
    assert r.like_base == "yoy"
    assert [s.kind for s in kpi.signals(r)] == ["campaign_base", "below_target"]
    with use(lang=lang, currency="CNY"):
        a = N.actions(r)
        assert [N.findings(r)[1], a[0].text, a[0].rule, a[1].text] == CAMPAIGN[lang]
        # without the campaign the same figures blame the channel and the refunds
        plain = replace(r, pop=result().pop)
        assert [s.kind for s in kpi.signals(plain)] == [
            "below_target",
            "segment_fell",
            "refund_up",
        ]


@pytest.mark.parametrize("lang", LANGS)
def test_trend_lead_says_what_the_points_count(lang):
    with use(lang=lang):
        assert N.section_lead("trend", result()) == TREND_LEAD[lang]
        # every bucket complete, no previous period: those sentences go
        r = result(series=result().series.assign(complete=True), previous_series=None)
        assert N.section_lead("trend", r) == TREND_LEAD[lang].split("。" if lang == "zh" else ". ")[
            0
        ] + ("。" if lang == "zh" else ".")


@pytest.mark.parametrize(
    ("lang", "says"),
    [
        ("en", "UV and conversion rate are not reported: the shop has no events table (visits)."),
        ("zh", "未报告访客数和转化率：该店铺没有 events 表（访问记录）。"),
    ],
)
def test_a_shop_without_events(lang, says):
    cur = {**result().totals, "uv": NAN, "conversion_rate": NAN}
    r = result(
        traffic=False,
        unavailable={"uv": "no_events", "conversion_rate": "no_events"},
        totals=cur,
        decomposition=kpi.gmv_decomposition(cur, result().previous, traffic=False),
    )
    with use(lang=lang):
        f = N.findings(r)
        assert [c.key for c in N.cards(r)] == ["gmv", "orders", "buyers", "aov", "refund_rate"]
    assert f[3].startswith(says)
    assert not any("8.0%" in x for x in f)  # no conversion rate anywhere


def test_change_text_rates_in_pp_first_everything_else_relative():
    with use(lang="en"):
        assert N.change_text("conversion_rate", 0.179, 0.158) == "+2.1 pp (+13.3%)"
        assert N.change_text("gmv", 148.0, 100.0) == "+48.0%"
        assert N.change_text("gmv", 148.0, NAN) == "n/a"
    with use(lang="zh"):
        assert N.change_text("refund_rate", 0.05, 0.03) == "+2.0 个百分点（+66.7%）"


# --- alerts (issue 21) ------------------------------------------------------------------------

ALERTS = [
    {
        "kind": "anomaly",
        "key": "anomaly:refund_rate:channel:organic:up",
        "day": "2025-01-22",
        "kpi": "refund_rate",
        "dimension": "",
        "value": "",
        "actual": 0.944,
        "expected": 0.074,
        "ci_low": 0.0,
        "ci_high": 0.571,
        "p": 5e-8,
        "size": 0.944 / 0.074 - 1,
        "direction": "up",
        "driver": {"dimension": "channel", "value": "organic", "actual": 0.903, "expected": 0.0736},
        "severity": "warning",
    },
    {
        "kind": "anomaly",
        "key": "anomaly:uv:channel:search:down",
        "day": "2025-01-14",
        "kpi": "uv",
        "dimension": "channel",
        "value": "search",
        "actual": 1.0,
        "expected": 24.4,
        "ci_low": 8.0,
        "ci_high": 45.0,
        "p": 0.0012,
        "size": 1 / 24.4 - 1,
        "direction": "down",
        "driver": None,
        "severity": "warning",
    },
    {
        "kind": "no_data",
        "day": "2025-02-05",
        "tables": ["orders", "events"],
        "severity": "critical",
    },
    {
        "kind": "no_data",
        "day": "2024-12-14",
        "tables": ["orders"],
        "visits": True,
        "severity": "critical",
    },
    {
        "kind": "threshold",
        "day": "2025-01-22",
        "kpi": "refund_rate",
        "op": "gt",
        "limit": 0.08,
        "actual": 0.944,
        "severity": "critical",
    },
    {
        "kind": "target",
        "day": "2025-01-22",
        "kpi": "gmv",
        "limit": -0.1,
        "actual": 20000.0,
        "target": 25000.0,
        "deviation": -0.2,
        "severity": "warning",
    },
]

ALERT_GOLDEN = {
    "en": [
        "2025-01-22: Refund rate 94.4%, expected 7.4% (0.0% – 57.1%), +87.0 pp (+1,175.7%) "
        "against expected; p < 0.001 under the model. Moved most: channel Organic (90.3% against "
        "7.4% expected).",
        "2025-01-14: UV (channel Search) 1, expected 24 (8 – 45), −95.9% against expected; "
        "p = 0.0012 under the model.",
        "2025-02-05: no rows in orders, events: the feed did not arrive.",
        "2024-12-14: no rows in orders while visits came as usual: the orders feed did not arrive, "
        "or nothing could be bought (a payment outage).",
        "2025-01-22: Refund rate 94.4%, above 8.0% (rule).",
        "2025-01-22: GMV month to date CN¥20,000, −20.0% against its target to date CN¥25,000 "
        "(rule: below −10.0%).",
    ],
    "zh": [
        "2025-01-22：退款率为 94.4%，预期 7.4%（0.0% 至 57.1%），较预期 +87.0 个百分点（+1,175.7%）；"
        "模型下 p < 0.001。变动最大的是渠道“自然流量”（实际 90.3%，预期 7.4%）。",
        "2025-01-14：访客数 UV（渠道：搜索）为 1，预期 24（8 至 45），较预期 −95.9%；模型下 p = 0.0012。",
        "2025-02-05：订单、访问记录没有数据：数据未到。",
        "2024-12-14：访问正常但订单没有数据：订单数据未到，或无法下单（例如支付故障）。",
        "2025-01-22：退款率为 94.4%，高于 8.0%（规则）。",
        "2025-01-22：本月至今 GMV（成交额）为 ¥20,000，较至今目标 ¥25,000 −20.0%（规则：低于 −10.0%）。",
    ],
}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_alert_sentences_golden(lang):
    with use(lang=lang, currency="CNY"):
        assert [N.alert_sentence(r) for r in ALERTS] == ALERT_GOLDEN[lang]
        subject = N.alert_subject(ALERTS, "T", ["2025-01-22"])
        lead = N.alert_findings(ALERTS[:2])
    assert (
        subject
        == {"en": "[Critical] T: 6 alerts, 2025-01-22", "zh": "【严重】T：6 条预警，2025-01-22"}[
            lang
        ]
    )
    # the finding that leads the summary: the first alert's sentence, then how many more
    more = {"en": " And 1 more alert (see Alerts).", "zh": "另有 1 条预警（见“异常预警”）。"}[lang]
    prefix = {"en": "Alert: ", "zh": "预警："}[lang]
    assert lead == [prefix + ALERT_GOLDEN[lang][1] + more]


def test_no_alert_lead_states_the_level():
    with use(lang="en"):
        text = N.alerts_lead([], ["2025-01-20", "2025-01-22"], 0.002)
    assert "(99.8% interval)" in text and "2025-01-20 – 2025-01-22" in text
