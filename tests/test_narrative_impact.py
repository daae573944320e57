"""The words of the impact reports (campaign retrospective, intervention impact): golden text in
both languages from small typed results built here, the actions' rules, and a coherence test over
the rendered example reports (each card shows its results.json figure, and the findings, tables
and index show the same)."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
import yaml
from bs4 import BeautifulSoup

from analysis_lib.analyses import campaign as CA
from analysis_lib.analyses.causal import Average, ControlFit, Effect, ModelInfo, Placebo
from analysis_lib.present.context import use
from analysis_lib.present.narrative import campaign_retro as NC
from analysis_lib.present.narrative import impact as NI
from analysis_lib.present.narrative import intervention_impact as NV
from analysis_lib.present.numbers import fmt
from analysis_lib.present.reports import campaign_retro as RC
from analysis_lib.present.reports import intervention_impact as RV
from analysis_lib.present.words import t
from tests.test_runner import ROOT, workbook


def effect(estimate, ci_low, ci_high, prob, **kw) -> Effect:
    """An effect summed over 30 points (the google reference's figures unless given)."""
    base = dict(
        actual=4687.0,
        predicted=3868.0,
        predicted_lo=3604.0,
        predicted_hi=4118.0,
        predicted_sd=130.0,
        effect_sd=130.0,
        relative=0.2117,
        relative_lo=0.1471,
        relative_hi=0.28,
        points=30,
        average=Average(156.23, 128.93, 120.13, 137.27, 27.3, 18.97, 36.1),
    )
    base |= kw
    return Effect(
        estimate=estimate,
        ci_low=ci_low,
        ci_high=ci_high,
        tail_probability=1 - prob,
        posterior_prob_causal_effect=prob,
        significant=ci_low > 0 or ci_high < 0,
        **base,
    )


MODEL = ModelInfo(0.5, 0.01, None, {"x1": ControlFit(0.9, 1.0)}, 900, 100, None, 0.01, 0.5)
GOOGLE = effect(819.0, 569.0, 1083.0, 0.9989)
PLACEBO_FAILED = Placebo("2020-02-10 00:00:00", True, effect(426.6, 4.4, 815.6, 0.98))
PLACEBO_OK = Placebo("2020-02-10 00:00:00", True, effect(-26.6, -404.4, 315.6, 0.6))

GOLDEN = {
    "en": [
        "During the 30 days after the intervention started, y averaged 156 per day. Without the "
        "intervention we would have expected 129 (95% credible interval 120 … 137). The "
        "difference is the estimated effect: 27 per day (19 … 36).",
        "Summed over the period after the intervention started, y came to 4,687 against a "
        "counterfactual of 3,868 (3,604 … 4,118): a cumulative effect of 819 (95% credible "
        "interval 569 … 1,083), or +21.2% against the counterfactual (+14.7% … +28.0%).",
        "Verdict: not established: a model check failed. The 95% credible interval of the "
        "cumulative effect lies entirely above zero (probability of a causal effect 99.9%), but "
        "that holds only if the model is right: the increase cannot be attributed to the "
        "intervention until the failed check is resolved.",
        "This rests on two assumptions: the control series (x1, x2) were not affected by the "
        "intervention, and their relation to y, learned before 2020-03-02, held after it. A "
        "control that the intervention also moved (a campaign that lifts the control too, a "
        "competitor reacting) or a change in that relation for another reason (a price change, a "
        "tracking change, a season the pre-period did not cover) would bias the effect.",
        "Placebo check: the same model on a fake intervention at 2020-02-10, inside the "
        "pre-period, finds a cumulative effect of 427 (4 … 816); the interval excludes zero: "
        "the model sees an effect where there was none, so treat the estimate above with caution.",
    ],
    "zh": [
        "干预开始后的 30 天里，y 平均每天为 156；假如没有干预，反事实预测为 129（95% 可信区间 120 … 137）。"
        "两者之差即干预效应的估计：平均每天 27（19 … 36）。",
        "干预开始后 y 合计 4,687，反事实预测合计 3,868（3,604 … 4,118）：累计效应 819（95% 可信区间 569 … "
        "1,083），相对反事实 +21.2%（+14.7% … +28.0%）。",
        "结论：不能认定：模型检验未通过。累计效应的 95% 可信区间全部高于零（存在因果效应的后验概率 99.9%），"
        "但这只在模型正确时成立：在未通过的检验得到解决之前，不能把这一增长归因于干预。",
        "这一估计依赖两个假设：对照序列（x1、x2）没有受到干预影响；它们与 y 在 2020-03-02 之前的关系在干预后保持"
        "不变。如果干预也推动了某个对照序列（例如活动同时带动了对照指标、竞争对手随之反应），或者这一关系因其他原因"
        "改变（价格调整、埋点变更、干预前数据没有覆盖的季节），效应估计就会有偏差。",
        "安慰剂检验：同一模型在干预前的虚拟干预时点 2020-02-10 上估计的累计效应为 427（4 … 816）；区间不包含零："
        "模型在没有干预的地方也看到了效应，上面的结论需谨慎对待。",
    ],
}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_impact_paragraphs_match_golden_text(lang):
    with use(lang=lang):
        got = NI.paragraphs(
            GOOGLE,
            MODEL,
            name="y",
            intervention="2020-03-02",
            controls=["x1", "x2"],
            unit="day",
            placebo=PLACEBO_FAILED,
        )
    assert got == GOLDEN[lang]


def test_inconclusive_words_and_probability_note():
    """An interval across zero is inconclusive (never "no effect" or "did not work"); the
    probability of a causal effect is never called a p-value and the note says why 80% can
    stand beside an interval that includes zero; without controls the text says the
    counterfactual is the series' own extrapolation; the campaign names itself."""
    e = effect(-50.0, -120.0, 20.0, 0.8)
    seasonal = ModelInfo(0.5, 0.01, 0.01, {}, 900, 100, 7, 0.01, 0.5)
    kw = dict(name="GMV", intervention="2025-10-24", controls=[], unit="week", kind="money")
    with use(lang="en", currency="CNY"):
        en = NI.paragraphs(e, seasonal, **kw, event="campaign")
        note = NI.probability_note()
    assert en[2] == (
        "Verdict: inconclusive: the data cannot tell. The probability of a causal effect is "
        "80.0%, and the 95% credible interval of the cumulative effect includes zero: the "
        "apparent decrease could be chance. A longer post-period or better controls would narrow "
        "the interval."
    )
    assert en[3] == (
        "Without control series the counterfactual extrapolates GMV's own level and seasonal "
        "pattern, assuming nothing else changed after 2025-10-24: anything else that changed at "
        "the same time is counted as the effect of the campaign."
    )
    assert en[0].startswith("During the 30 weeks after the campaign started, GMV averaged CN¥156 ")
    assert "excludes zero only when that probability is above 97.5%" in note
    with use(lang="zh", currency="CNY"):
        zh = NI.paragraphs(e, seasonal, **kw, event="campaign")
    assert zh[2].startswith("结论：不确定：数据不足以判断。存在因果效应的后验概率为 80.0%")
    assert "同期发生的任何其他变化都会被算作活动效应" in zh[3]
    for text in en + zh + [note]:
        assert "no effect" not in text and "did not work" not in text and "无效果" not in text
        assert "probability of no effect" not in text.lower()


# --- the campaign retrospective -----------------------------------------------------------------


def retro(roi_ci=(-0.44, 1.23), placebo=PLACEBO_OK, post=(-3558.0, -10451.0, 2937.0)) -> CA.Retro:
    """A small retrospective: ROI on CN¥5,300 spend at 35% margin from a net increment of
    CN¥21,698 (CN¥8,436 … CN¥33,841); one paid channel whose attributed ROI is below zero."""
    net = effect(21698.0, 8436.0, 33841.0, 0.998, relative=0.308)
    phases = {
        "preheat": effect(1207.0, -5647.0, 7631.0, 0.62),
        "burst": effect(18165.0, 16279.0, 20187.0, 0.999),
        "return": effect(5884.0, 3932.0, 7860.0, 0.999),
        "post": effect(*post, 0.85),
        "campaign": effect(25255.0, 16909.0, 33095.0, 0.999),
        "net": net,
    }
    roi = CA.Roi(5300.0, 0.35, 21698.0, 21698 * 0.35 / 5300 - 1, *roi_ci, 4.09, 1.59, 6.39)
    channels = pd.DataFrame(
        [["ads", 5300.0, 0.2, 4339.6, -0.71, -0.86, -0.45, 0.82, 0.32, 1.28]],
        columns=CA.CHANNEL_COLUMNS,
    )
    camp = CA.Campaign(
        "C1",
        "Double 11",
        dt.date(2025, 10, 24),
        dt.date(2025, 11, 10),
        dt.date(2025, 11, 11),
        dt.date(2025, 11, 13),
        dt.date(2025, 11, 27),
        73100.0,
    )
    observed = CA.Observed(
        "C1", "Double 11", 66498.0, 509, 485, 73100.0, 0.9097, 5300.0, 12.55, 234, 22.65
    )
    return CA.Retro(
        camp=camp,
        impact=SimpleNamespace(model=MODEL),
        placebo=placebo,
        phases=phases,
        observed=observed,
        roi=CA.RoiResult(roi, channels, 0.8),
        categories=pd.DataFrame(
            {"category": ["Electronics"], "campaign_gmv": [20223.0], "extra_gmv": [11259.0]}
            | {"share_of_extra": [0.337]}
        ),
        funnel=None,
        margin=0.35,
        post_window=14,
        pre_start=dt.date(2025, 7, 1),
        controls=["search index"],
    )


def test_campaign_findings_and_actions_golden_en():
    with use(lang="en", currency="CNY"):
        r = retro()
        f = NC.findings(r)
        a = NC.actions(r)
    assert f[-1] == (
        "Every paid channel's attributed ROI is negative while the campaign's is positive "
        "because 80.0% of campaign GMV came through channels without spend: their share of the "
        "net incremental GMV (CN¥17,358) counts in the campaign's ROI but in no paid channel's."
    )
    assert f[-2] == (
        "At the 35.0% margin, CN¥21,698 of net incremental GMV against CN¥5,300 of spend gives an "
        "ROI of +43.3% (95% credible interval −44.0% … +123.0%): inconclusive: the data cannot "
        "tell whether it paid for itself."
    )
    assert f[2] == "Most of it came in the burst: CN¥18,165 (CN¥16,279 … CN¥20,187)."
    assert [(x.text, x.rule) for x in a] == [
        (
            "Repeat it only as a measured test, at the same budget: the data cannot tell whether "
            "it paid back its CN¥5,300 spend (ROI +43.3%, −44.0% … +123.0%); hold out a share of "
            "customers or regions next time so the return can be measured.",
            "ROI's 95% credible interval includes zero",
        ),
        (
            "Test spend on Ads before cutting it: its attributed ROI is below break-even (Ads: ROI "
            "−71.0% (−86.0% … −45.0%)), but a split by share of campaign GMV is descriptive, not "
            "causal; hold its spend back in some regions or weeks of the next campaign to measure "
            "its return.",
            "channel-attributed ROI's 95% credible interval lies below zero (net incremental GMV "
            "attributed by share of campaign GMV)",
        ),
    ]


def test_campaign_actions_golden_zh_and_rules():
    """Stop when ROI's interval is below zero, repeat when above; a failed placebo comes first; a
    post window below zero asks to plan for the dip."""
    with use(lang="zh", currency="CNY"):
        a = NC.actions(
            retro(roi_ci=(-0.9, -0.1), placebo=PLACEBO_FAILED, post=(-9000.0, -15000.0, -2000.0))
        )
        f = NC.findings(retro())
    assert [x.text for x in a] == [
        "在据此行动之前先检查模型：安慰剂检验在活动前的 2020-02-10 也发现了效应。",
        "停止或重新设计活动：按 35.0% 毛利率，活动没有收回 ¥5,300 的投放（ROI +43.3%，−90.0% … −10.0%）。",
        "削减广告的投放前先做测试：其分摊 ROI 低于盈亏平衡（广告：ROI −71.0%（−86.0% … −45.0%）），"
        "但按活动 GMV 占比分摊是描述性的，不是因果拆分；下次活动在部分地区或时段暂停该渠道投放，"
        "以测量其真实回报。",
        "为下次活动后的几周做好准备：本次活动结束后 14 天，GMV 比反事实低 ¥9,000（−¥15,000 … −¥2,000）。",
    ]
    assert f[0] == "Double 11（2025-10-24 至 2025-11-13）GMV ¥66,498，目标 ¥73,100，达成 91.0%。"
    with use(lang="en", currency="CNY"):
        up = NC.actions(retro(roi_ci=(0.1, 0.9)))[0]
    assert up.text.startswith("Repeat the campaign and test a larger budget")
    assert up.rule == "ROI's 95% credible interval lies above zero"


def test_lessons_call_an_interval_across_zero_inconclusive():
    """Effects by their interval (inconclusive across zero); the target is met or missed and the
    top category's share is descriptive: neither is called "worked"."""
    with use(lang="en", currency="CNY"):
        df = NC.lessons(retro()).set_index("what")
    assert df.loc["Pre-heat GMV", "result"] == "inconclusive: the data cannot tell"
    assert df.loc["Burst GMV", "result"] == "worked"
    assert df.loc["Spend on Ads", "result"] == "below break-even (descriptive)"
    assert df.loc["Pre-heat GMV", "evidence"] == "+CN¥1,207 (−CN¥5,647 … CN¥7,631)"
    top = df.loc["Electronics drove the most extra GMV"]
    assert tuple(top) == ("descriptive (no counterfactual)", "33.7% of the GMV above run rate")
    assert df.loc["GMV target", "result"] == "missed"


def test_campaign_cards_say_inconclusive_and_carry_a_failed_check():
    """The ROI card's note says inconclusive when its interval includes zero (and paid for
    itself when it is above zero); a failed placebo leads the findings and marks the net card and
    the probability's card; channel names join Chinese sentences without stray spaces."""
    with use(lang="en", currency="CNY"):
        cards = {c.key: c for c in RC.cards(retro())}
        up = {c.key: c for c in RC.cards(retro(roi_ci=(0.1, 0.9)))}
        bad = retro(placebo=PLACEBO_FAILED)
        bad_cards = {c.key: c for c in RC.cards(bad)}
        bad_f = NC.findings(bad)
    assert cards["roi"].unit == (
        "inconclusive: the data cannot tell; (net incremental GMV × 35.0% margin − CN¥5,300 "
        "spend) / spend"
    )
    assert up["roi"].unit.startswith("paid for itself; ")
    assert "model check failed" not in cards["net_incremental_gmv"].unit
    assert cards["posterior_prob_causal_effect"].unit == "net incremental GMV: a credible increase"
    assert bad_f[0].startswith(
        "Model check failed: the placebo check finds an effect at 2020-02-10"
    )
    assert bad_cards["net_incremental_gmv"].unit.endswith("; model check failed: see below")
    assert bad_cards["net_incremental_gmv"].tone == "neutral"
    assert bad_cards["posterior_prob_causal_effect"].unit == (
        "net incremental GMV: not established: a model check failed"
    )
    with use(lang="zh"):
        assert NC.spaced("广告") == "广告" and NC.spaced("tiktok") == " tiktok "


# --- the intervention impact report ---------------------------------------------------------------


def case(
    e: Effect, placebo: Placebo = PLACEBO_OK, model: ModelInfo = MODEL, measure="flow"
) -> NV.Case:
    idx = pd.date_range("2020-01-01", periods=91)
    imp = SimpleNamespace(
        summary=e,
        model=model,
        series=pd.DataFrame(index=idx[61:]),
        pre_fit=pd.DataFrame(index=idx[:61]),
        alpha=0.05,
    )
    return NV.Case(imp, placebo, "y", "2020-03-02", ["x1"], measure=measure)


def test_intervention_action_by_rule():
    """Keep an established increase, reverse an established decrease, check first when a check
    raises doubt, do not decide when the interval includes zero: always one action, with its
    rule."""
    with use(lang="en"):
        keep = NV.actions(case(GOOGLE))
        rev = NV.actions(case(effect(-819.0, -1083.0, -569.0, 0.999)))
        check = NV.actions(case(GOOGLE, PLACEBO_FAILED))
        wait = NV.actions(case(effect(-50.0, -120.0, 20.0, 0.8)))
    assert [(x.text, x.rule) for x in keep] == [
        (
            "Treat the increase in y as established and keep the intervention: 819 over 30 days "
            "(95% credible interval 569 … 1,083).",
            "the cumulative effect's 95% credible interval lies above zero and the placebo and "
            "model checks raise no doubt",
        )
    ]
    assert rev[0].text.startswith("Reverse or rework the intervention: it lowered y by 819")
    assert check[0].text == (
        "Do not act on the increase yet: check the control series and the model first, then "
        "re-run (the placebo check finds an effect at 2020-02-10, before the intervention)."
    )
    assert wait[0].rule == "the cumulative effect's 95% credible interval includes zero"
    with use(lang="zh"):
        zh = NV.actions(case(effect(-50.0, -120.0, 20.0, 0.8)))
    assert zh[0].text == (
        "暂不据此做决定：数据不足以判断干预是否改变了 y。延长干预后观察期，或加入未受干预影响的对照序列，然后重新运行。"
    )


def test_failed_check_leads_the_findings_and_marks_the_cards():
    """Issue 16 review: a credible interval with a failed placebo check must not read as an
    established effect at the top while the action says not to act. The first finding is the
    check, the first card and the probability's card say it failed, the tone is neutral, and the
    verdict is "not established"; without a failed check the top reads as before."""
    with use(lang="en"):
        bad = case(GOOGLE, PLACEBO_FAILED)
        f, cards = NV.findings(bad), RV.cards(bad)
        ok_f, ok_cards = NV.findings(case(GOOGLE)), RV.cards(case(GOOGLE))
    assert f[0] == (
        "Model check failed: the placebo check finds an effect at 2020-02-10, before the "
        "intervention started, where there was none. The estimate below cannot be taken at face "
        "value until this is resolved."
    )
    assert f[2].startswith("Verdict: not established: a model check failed.")
    assert "unlikely to be chance" not in " ".join(f)
    assert cards[0].unit.endswith("; model check failed: see below")
    assert cards[-1].unit == "not established: a model check failed"
    assert cards[0].tone == "neutral"
    assert ok_f[0].startswith("Summed over the period") and "unlikely to be chance" in ok_f[1]
    assert ok_cards[-1].unit == "a credible increase" and ok_cards[0].tone == "good"
    assert "model check failed" not in ok_cards[0].unit
    # the index row (issue 18 review: volks and google read "99.9%" there beside a failed check)
    with use(lang="en"):
        shown_bad = RV.index_verdict(bad).shown["posterior_prob_causal_effect"]
        shown_ok = RV.index_verdict(case(GOOGLE)).shown["posterior_prob_causal_effect"]
    assert shown_bad == {
        "label": "Probability of a causal effect",
        "text": f"{cards[-1].value}; not established: a model check failed",
    }
    assert shown_ok["text"] == f"{ok_cards[-1].value}; a credible increase"
    with use(lang="zh"):
        zf, zc = NV.findings(bad), RV.cards(bad)
        z_shown = RV.index_verdict(bad).shown["posterior_prob_causal_effect"]["text"]
    assert zf[0].startswith("模型检验未通过：安慰剂检验在干预开始之前的 2020-02-10 也发现了效应")
    assert zc[-1].unit == "不能认定：模型检验未通过"
    assert z_shown == f"{zc[-1].value}；不能认定：模型检验未通过"


LEVEL = effect(
    -3505.0,
    -4300.0,
    -2600.0,
    0.999,
    actual=10000.0,
    predicted=13500.0,
    points=79,
    relative=-0.259,
    relative_lo=-0.321,
    relative_hi=-0.193,
    average=Average(126.6, 170.9, 159.9, 182.0, -44.4, -55.2, -33.1),
)


def test_level_series_reports_the_average_effect_only():
    """A share price summed over weeks means nothing: for ``series.kind: level`` the cards, the
    findings, the action, the table and the method give the average effect, never a cumulative
    effect or a "per week" figure."""
    with use(lang="en"):
        c = case(LEVEL, measure="level")
        f, cards, a = NV.findings(c), RV.cards(c), NV.actions(c)
        table = NV.summary_table(c)
        method = NV.method_notes(c)
    assert f[0] == (
        "During the 79 days after the intervention started, y averaged 127. Without the "
        "intervention we would have expected 171 (95% credible interval 160 … 182). The "
        "difference is the estimated effect: −44 on average (−55 … −33), or −25.9% against the "
        "counterfactual (−32.1% … −19.3%)."
    )
    assert [x.key for x in cards] == RV.HEADLINE_LEVEL
    assert cards[0].label == "Average effect" and cards[0].value == "−44"
    assert a[0].text == (
        "Reverse or rework the intervention: it lowered y by 44 on average over 79 days (95% "
        "credible interval −55 … −33)."
    )
    assert a[0].rule.startswith("the average effect's 95% credible interval lies below zero")
    assert list(table.columns) == ["row", "average"]
    words = " ".join(f + [x.text + x.rule for x in a] + method + [k.label for k in cards])
    assert "cumulative effect of" not in words.lower() and "per day" not in words
    assert "Summed" not in words and "3,505" not in words
    with use(lang="zh"):
        zf = NV.findings(case(LEVEL, measure="level"))
    assert zf[0].startswith("干预开始后的 79 天里，y 平均为 127；")
    assert "累计" not in zf[0] + zf[1] and "每天" not in zf[0]


def test_precision_follows_the_interval():
    """A prediction of 120.3 (119.7 … 121.0) beside an actual of 121.2 must not print as
    120 (120 … 121) against 121; an interval never mixes precisions (4 … 816, not 4.37 … 816);
    an undated series' placebo is at a point, never called a date."""
    assert NI.digits(119.7, 121.0) == 1
    assert NI.digits(4.37, 816.0) == 0
    assert NI.digits(18.97, 36.1) == 0
    assert NI.digits(0.27, 1.5) == 1
    assert NI.digits(5.0, 5.0) is None
    arma = effect(
        26.7, 8.0, 45.0, 0.998, average=Average(121.24, 120.33, 119.73, 120.98, 0.89, 0.27, 1.5)
    )
    placebo = Placebo("46", True, effect(300.0, 4.37, 816.0, 0.98))
    with use(lang="en"):
        table = NI.summary_table(arma).set_index("row")
        text = NI.placebo_text(placebo)
    assert table.loc["Actual", "average"] == "121.2"
    assert table.loc["Prediction (counterfactual)", "average"] == "120.3"
    assert "119.7 … 121.0" in list(table["average"])
    assert text.startswith(
        "Placebo check: the same model on a fake intervention at point 46, inside the "
        "pre-period, finds a cumulative effect of 300 (4 … 816);"
    )
    with use(lang="zh"):
        zh = NI.placebo_text(placebo)
    assert "虚拟干预时点 第 46 个时间点" in zh and "日期" not in zh


# --- coherence over the rendered reports -----------------------------------------------------------

WORDS_NEVER = [  # raw values, p-values printed as 0.00, the words issue 16 found
    r"\bnan\b",
    r"\bNone\b",
    r"\binf\b",
    r"p(?:-value| 值)\s*=?\s*0\.00\b",
    r"(?i)probability of no effect",
    r"P\(no effect\)",
]


def _clean(text: str) -> None:
    for w in WORDS_NEVER:
        assert not re.search(w, text), (w, re.findall(f".{{40}}{w}.{{40}}", text))


def _run(tmp_path, params: Path, lang: str) -> Path:
    doc = yaml.safe_load(params.read_text())
    doc["lang"] = lang
    doc["data"]["url"] = str(ROOT / doc["data"]["url"])
    if "series" in doc:
        doc["series"]["path"] = str(ROOT / doc["series"]["path"])
    f = tmp_path / f"{params.stem}_{lang}.yaml"
    f.write_text(yaml.safe_dump(doc, allow_unicode=True))
    out = tmp_path / "reports"
    r = workbook("run", f, "--out", out)
    assert r.returncode == 0, r.stdout + r.stderr
    return out / doc["notebook"] / f.stem


def _cards(soup) -> dict[str, str]:
    return {
        c.select_one(".wb-card-label").get_text(): c.select_one(".wb-card-value").get_text()
        for c in soup.select(".wb-card")
    }


def _visible(soup) -> str:
    body = BeautifulSoup(str(soup), "html.parser")
    for x in body.select("footer, style, script, .wb-quality"):  # quality: the lead's section
        x.decompose()
    return body.get_text(" ")


@pytest.mark.e2e
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_campaign_report_figures_agree(tmp_path, sample_dir, lang):
    """Each card shows its results.json figure as :data:`CARD_KINDS` formats it; the ROI card is
    (net incremental GMV x margin - spend) / spend of the figures shown; the findings, the phase
    table and the channel table show the same net incremental GMV and ROI; the index records the
    cards' text; the page holds no raw values or wrong words."""
    rep = _run(tmp_path, ROOT / "params/campaign_retro/double11_2025.yaml", lang)
    res = json.loads((rep / "results.json").read_text())
    figs, shown = res["figures"], res["shown"]
    soup = BeautifulSoup((rep / "report.html").read_text(), "html.parser")
    cards = _cards(soup)
    text = _visible(soup)
    findings = " ".join(li.get_text() for li in soup.select(".wb-findings li"))
    with use(lang=lang, currency="CNY"):
        for key in RC.HEADLINE:
            v = figs[key]["estimate"] if isinstance(figs[key], dict) else figs[key]
            want = fmt(v, RC.CARD_KINDS[key])
            assert want in cards.values(), key
            # the index records the card's figure, with the verdict the page gives where it has one
            index_text, sep = shown[key]["text"], t("impact.clause_sep")
            assert index_text == want or index_text.startswith(want + sep), key
            assert index_text[len(want) + len(sep) :] in text, key
        net, roi = figs["net_incremental_gmv"], figs["roi"]
        for part in ("estimate", "ci_low", "ci_high"):
            assert fmt(net[part], "money") in findings
            assert fmt(roi[part], "signed_pct") in findings
        # ROI from the net incremental GMV, the margin and the spend the report states
        m = re.search(r"(?:against|投放) ([^\s，]+?)(?: of spend|，ROI)", findings)
        assert m, findings
        spend = float(re.sub(r"[^\d.]", "", m.group(1)))
        for part in ("estimate", "ci_low", "ci_high"):
            shown_net = float(re.sub(r"[^\d.]", "", fmt(net[part], "money")))
            shown_net *= -1 if net[part] < 0 else 1
            computed = (shown_net * 0.35 - spend) / spend
            assert fmt(computed, "signed_pct") == fmt(roi[part], "signed_pct"), part
        tables = soup.select(".wb-table")
        phase_rows = tables[0].get_text(" ")
        assert fmt(net["estimate"], "signed_money") in phase_rows
        channel_rows = tables[2].get_text(" ")
        assert fmt(roi["estimate"], "signed_pct") in channel_rows
        assert fmt(net["estimate"], "money") in channel_rows
    _clean(text)
    assert not re.search(r"\b[a-z]+_[a-z_]+\b", text.replace("search_index", "")), re.findall(
        r"\b[a-z]+_[a-z_]+\b", text
    )
    if lang == "zh":
        latin = set(re.findall(r"[A-Za-z]{3,}", text))
        allowed = {"GMV", "ROI", "ROAS", "CausalImpact", "MCMC", "Double", "Electronics"}
        allowed |= {"Home", "Toys", "Sports", "Beauty", "Food", "Books", "Apparel", "Sale", "Mid"}
        allowed |= {"year", "retrospective", "search", "index", "order", "items", "sku"}
        assert latin <= allowed, latin - allowed


@pytest.mark.e2e
@pytest.mark.parametrize(
    "name, lang", [("google", "en"), ("comparison", "zh"), ("volkswagen", "en")]
)
def test_intervention_report_figures_agree(tmp_path, name, lang):
    """The cards show the results.json figures; the findings give the same effect and interval
    (cumulative for a flow, average for a level series); an inconclusive result says so and its
    action says not to decide; a failed model check leads the findings and marks the cards
    (google, volkswagen); a level series (volkswagen) shows no cumulative figure and no "per"."""
    rep = _run(tmp_path, ROOT / f"params/intervention_impact/{name}.yaml", lang)
    res = json.loads((rep / "results.json").read_text())
    figs, shown = res["figures"], res["shown"]
    soup = BeautifulSoup((rep / "report.html").read_text(), "html.parser")
    cards = _cards(soup)
    findings = " ".join(li.get_text() for li in soup.select(".wb-findings li"))
    todo = soup.select_one(".wb-todo").get_text(" ")
    level = name == "volkswagen"
    key = "average_effect" if level else "cumulative_effect"
    with use(lang=lang):
        assert res["headline"] == (RV.HEADLINE_LEVEL if level else RV.HEADLINE)
        fig = figs[key]
        assert shown[key]["text"] == RV.series_text(fig) in cards.values()
        assert shown["relative_effect"]["text"] == fmt(figs["relative_effect"], "signed_pct")
        p = fmt(figs["posterior_prob_causal_effect"], "pct")
        assert p in cards.values()
        # the index gives the card's verdict beside the probability
        prob = shown["posterior_prob_causal_effect"]["text"]
        assert prob.startswith(p + ("; " if lang == "en" else "；"))
        d = NI.digits(fig["ci_low"], fig["ci_high"])
        for part in ("estimate", "ci_low", "ci_high"):
            assert NI.num(fig[part], places=d) in findings
        inconclusive = (
            "inconclusive: the data cannot tell" if lang == "en" else "不确定：数据不足以判断"
        )
        assert (inconclusive in findings) == (not figs["significant"])
        if not figs["significant"]:
            assert ("Do not decide" if lang == "en" else "暂不据此做决定") in todo
        failed = figs["placebo"]["covers_zero"] is False
        assert failed == (name in ("google", "volkswagen"))
        if failed:
            lead = soup.select_one(".wb-findings li").get_text()
            assert lead.startswith("Model check failed")
            notes = " ".join(x.get_text() for x in soup.select(".wb-card-note"))
            assert "model check failed: see below" in notes
            assert "unlikely to be chance" not in findings
            assert "Do not act" in todo
            assert prob.endswith("not established: a model check failed")
    text = _visible(soup)
    if level:
        assert not re.search(r"(?i)cumulative effect (?:of|\d)|per week|summed", text)
        assert "Cumulative" not in cards
    _clean(text)
