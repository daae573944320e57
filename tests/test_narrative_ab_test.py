"""Golden text of the A/B narrative (analysis_lib.present.narrative.ab_test) in both languages,
from small typed results built here: the findings in the order what → why → so what, the verdict
for each rule that can decide it, the actions with their rules, the glossary's words, p-values
never 0.00 and no −0.0."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis_lib.analyses import abtest as A
from analysis_lib.analyses import power as PW
from analysis_lib.present.context import use
from analysis_lib.present.narrative import ab_test as N

METRICS = (
    A.MetricDef("converted", "proportion"),
    A.MetricDef("aov", "ratio", numerator="revenue", denominator="orders"),
)
AOV_GUARD = (A.Guardrail("aov", 0.05),)
NO_SRM = A.SrmResult(0.62, 0.25, {"control": 5000, "treatment": 4950}, {"control": 4975.0, "treatment": 4975.0})  # fmt: skip


def comparison(metric, cv, tv, lo, hi, p):
    """A comparison of ``treatment`` against ``control``: values, relative interval, adjusted p."""
    kind = "proportion" if metric == "converted" else "ratio"
    method = "two-proportion Wald test (statsmodels)" if kind == "proportion" else "delta method z-test"  # fmt: skip
    rel = tv / cv - 1
    return A.Comparison(metric, kind, "treatment", cv, tv, tv - cv, rel, lo * cv, hi * cv, lo, hi, p, 5000, 4950, method, p)  # fmt: skip


def result(comparisons, guards=(), srm=NO_SRM, plan=None, mde=0.081) -> A.AbResult:
    """An :class:`AbResult` as :func:`abtest.analyse` returns it, with the verdict by its rules."""
    spec = A.AbSpec(METRICS, guardrails=guards, planned_split={"control": 1, "treatment": 1})
    mdefs = {m.name: m for m in METRICS}
    gs = A.guardrail_status(comparisons, list(guards), mdefs)
    v = A.verdict(comparisons, METRICS[0], srm, gs, 0.05, mdefs)
    missing = {
        m.name: A.Missing("drop", m.columns(), 0, {"control": 0, "treatment": 0}, 9950, 9950)
        for m in METRICS
    }
    empty = pd.DataFrame()
    return A.AbResult(spec, srm, comparisons, gs, v, empty, empty, missing, mde, plan)


GAIN = comparison("converted", 0.10, 0.112, 0.04, 0.20, 0.0004)
FLAT = comparison("converted", 0.10, 0.1005, -0.08, 0.09, 0.91)
AOV_UNSURE = comparison("aov", 150.0, 148.5, -0.06, 0.04, 0.62)
AOV_SAME = comparison("aov", 150.0, 150.0, -0.01, 0.01, 0.99)
AOV_WORSE = comparison("aov", 150.0, 135.0, -0.14, -0.06, 0.00002)
PLAN = PW.plan(PW.PlannerSpec("proportion", 0.10, 0.10, 500.0), 0.05, 2)


def say(lang, fn, res):
    with use(lang=lang, currency="CNY"):
        return fn(res)


def test_a_gain_with_a_guardrail_short_of_data_ships_only_after_it():
    """The defect of issue 16: a guardrail with not enough data let the verdict say "ship"
    without saying so. Now the card, the verdict and the action say to wait for it, with the rule."""
    res = result([GAIN, AOV_UNSURE], AOV_GUARD)
    assert res.verdict.decision == "ship" and res.verdict.conditional
    assert say("en", N.findings, res) == [
        "Conversion: treatment 11.2% against control 10.0%, +1.2 pp (+12.0%); 95% confidence interval of the relative change +4.0% to +20.0%, adjusted p-value < 0.001: significant at the 5% level.",
        "AOV: treatment CN¥148 against control CN¥150, −1.0%; 95% confidence interval of the relative change −6.0% to +4.0%, adjusted p-value 0.62: inconclusive: the data cannot tell.",
        "Guardrail AOV (treatment): not enough data: its 95% confidence interval (−6.0% to +4.0%) crosses the −5.0% tolerance, so a change worse than the tolerance is not ruled out.",
        "Sample ratio check passed: control 5,000 and treatment 4,950 units against the planned split (p-value 0.62; a sample ratio mismatch (SRM) is flagged below 0.001).",
        "Verdict: Ship once guardrails are clear: Conversion +1.2 pp (+12.0%) for treatment (significant at the 5% level, adjusted p-value < 0.001) and no guardrail failed; ship only after AOV has enough data.",
    ]  # fmt: skip
    assert say("zh", N.findings, res) == [
        "转化率：实验组 11.2%，对照组 10.0%，变化 +1.2 个百分点（+12.0%）；相对变化的 95% 置信区间 +4.0% 至 +20.0%，校正后 p 值 < 0.001：在 5% 水平上显著。",
        "客单价：实验组 ¥148，对照组 ¥150，变化 −1.0%；相对变化的 95% 置信区间 −6.0% 至 +4.0%，校正后 p 值 0.62：不确定：数据不足以判断。",
        "护栏指标客单价（实验组）：数据不足：其 95% 置信区间（−6.0% 至 +4.0%）跨过 −5.0% 的容忍度，不能排除超出容忍度的恶化。",
        "样本比例检查通过：对照组 5,000 和实验组 4,950 个单位，与计划分流比例一致（p 值 0.62；低于 0.001 判为样本比例失衡）。",
        "结论：护栏指标确认后上线：实验组的转化率变化 +1.2 个百分点（+12.0%），在 5% 水平上显著（校正后 p 值 < 0.001），且没有护栏指标未通过；但须等客单价数据充足后再上线。",
    ]  # fmt: skip
    assert [(a.text, a.rule) for a in say("en", N.actions, res)] == [
        (
            "Ship treatment only after AOV has enough data: keep the test running until the 95% confidence interval of each lies within its tolerance.",
            "ship only when no guardrail failed; a guardrail with not enough data must first show its metric within the tolerance",
        )
    ]  # fmt: skip
    assert [(a.text, a.rule) for a in say("zh", N.actions, res)] == [
        (
            "等客单价数据充足后再上线实验组：继续实验，直到每个护栏指标的 95% 置信区间都落在容忍度之内。",
            "只有在没有护栏指标未通过时才上线；数据不足的护栏指标须先证明其变化在容忍度之内",
        )
    ]  # fmt: skip
    assert say("en", N.decision_word, res.verdict) == "Ship once guardrails are clear"
    assert say("zh", N.decision_word, res.verdict) == "护栏指标确认后上线"


def test_a_gain_with_guardrails_passed_ships():
    res = result([GAIN, AOV_SAME], AOV_GUARD)
    assert say("en", N.verdict_finding, res) == (
        "Verdict: Ship: Conversion +1.2 pp (+12.0%) for treatment (significant at the 5% level, "
        "adjusted p-value < 0.001) and no guardrail failed."
    )
    assert [(a.text, a.rule) for a in say("en", N.actions, res)] == [
        (
            "Ship treatment.",
            "ship when Conversion improves significantly at the 5% level (Holm-adjusted p-value) "
            "and no guardrail failed",
        )
    ]
    assert [(a.text, a.rule) for a in say("zh", N.actions, res)] == [
        (
            "上线实验组。",
            "转化率在 5% 水平上显著提升（霍尔姆法校正后的 p 值）且没有护栏指标未通过时上线",
        )
    ]
    passed = say("en", lambda r: N.guardrail_finding(r.guardrails[0], r), res)
    assert passed == (
        "Guardrail AOV (treatment): passed: its 95% confidence interval (−1.0% to +1.0%) lies "
        "within the −5.0% tolerance."
    )


def test_inconclusive_says_the_data_cannot_tell_and_what_the_next_test_needs():
    res = result([FLAT, AOV_SAME], AOV_GUARD, plan=PLAN)
    en = say("en", N.findings, res)
    assert en[1] == (
        "AOV: treatment CN¥150 against control CN¥150, 0.0%; 95% confidence interval of the "
        "relative change −1.0% to +1.0%, adjusted p-value 0.99: inconclusive: the data cannot tell."
    )  # a change that rounds to zero is 0.0%, never −0.0%
    assert en[-2:] == [
        "Verdict: Inconclusive: Conversion +0.1 pp (+0.5%) for treatment, 95% confidence interval "
        "−8.0% to +9.0%: no difference significant at the 5% level.",
        "With 5,000 units in control, this test could detect a relative change of about 8.1% in "
        "Conversion (minimum detectable effect (MDE), 80.0% power); a smaller effect needs a "
        "longer test.",
    ]
    assert say("zh", N.findings, res)[-2:] == [
        "结论：不确定：实验组的转化率变化 +0.1 个百分点（+0.5%），95% 置信区间 −8.0% 至 +9.0%：没有在 5% 水平上显著的差异。",
        "对照组有 5,000 个单位时，本实验约能检测到转化率 8.1% 的相对变化（最小可检测效应，80.0% 检验功效）；更小的效应需要更长的实验。",
    ]  # fmt: skip
    assert [(a.text, a.rule) for a in say("en", N.actions, res)] == [
        (
            "Don't ship on this evidence and don't drop the idea either: the data cannot tell "
            "whether Conversion differs between control and treatment. To detect +10.0% on a "
            "baseline of 10.0%, the next test needs 14,745 units per variant (59 days at 500 "
            "units a day).",
            "inconclusive when no variant changes Conversion significantly at the 5% level: "
            "neither ship nor drop on it",
        )
    ]
    assert [a.text for a in say("zh", N.actions, res)] == [
        "不要据此上线，也不要据此放弃：数据不足以判断对照组与实验组的转化率是否不同。要在基线 10.0% 上检测 +10.0% 的变化，下一次实验每组需要 14,745 个单位（按每天 500 个单位需 59 天）。"
    ]  # fmt: skip
    without_plan = result([FLAT, AOV_SAME], AOV_GUARD)
    assert say("en", N.actions, without_plan)[0].text.endswith(
        "Run the test longer to detect a smaller effect: at its current size it detects about "
        "8.1% (MDE)."
    )


def test_harm_and_a_failed_guardrail_keep_control():
    harm = result([FLAT, AOV_WORSE])
    assert say("en", N.verdict_finding, harm) == (
        "Verdict: Don't ship: AOV −10.0% for treatment (adjusted p-value < 0.001) and no "
        "significant gain in Conversion."
    )
    assert say("zh", N.verdict_finding, harm) == (
        "结论：不上线：实验组的客单价变化 −10.0%（校正后 p 值 < 0.001），且转化率没有显著提升。"
    )
    assert [(a.text, a.rule) for a in say("en", N.actions, harm)] == [
        (
            "Don't ship treatment; keep control.",
            "don't ship when a metric got significantly worse at the 5% level and Conversion "
            "shows no significant gain",
        )
    ]
    failed = result([FLAT, AOV_WORSE], AOV_GUARD)
    assert say("en", N.verdict_finding, failed) == (
        "Verdict: Don't ship: guardrail AOV failed for treatment (−10.0%, beyond its −5.0% "
        "tolerance)."
    )
    assert say("zh", lambda r: N.actions(r)[0].rule, failed) == (
        "护栏指标未通过（整个 95% 置信区间超出容忍度）时不上线"
    )


def test_a_sample_ratio_mismatch_blocks_the_verdict_and_names_its_threshold():
    broken = A.SrmResult(0.00001, 19.6, {"control": 5300, "treatment": 4700}, {"control": 5000.0, "treatment": 5000.0})  # fmt: skip
    res = result([GAIN], srm=broken)
    assert say("en", N.srm_finding, res) == (
        "Sample ratio mismatch (SRM): control 5,300 and treatment 4,700 units against the planned "
        "split (p-value < 0.001, below 0.001): the assignment is broken, so no result of this "
        "test can be trusted."
    )
    assert say("en", N.verdict_finding, res) == (
        "Verdict: Inconclusive: the sample ratio mismatch (SRM) blocks every result until the "
        "assignment is fixed."
    )
    assert [(a.text, a.rule) for a in say("zh", N.actions, res)] == [
        (
            "修复分流后重新实验：各组单位数（对照组 5,300 和实验组 4,700）与计划分流比例不符。",
            "出现样本比例失衡（p 值低于 0.001）时不给出任何结论",
        )
    ]


def test_an_interval_that_excludes_zero_but_is_not_significant_once_adjusted_says_so():
    """A p of 0.028 beside an interval... (issue 16): when the adjustment for many comparisons takes
    the significance of an interval away, the sentence says why."""
    c = comparison("aov", 150.0, 160.0, 0.01, 0.12, 0.09)
    c.p_value = 0.028
    res = result([FLAT, c])
    assert say("en", lambda r: N.reading(c, r), res) == (
        "not significant once adjusted for 2 comparisons (p-value 0.028 before the adjustment)"
    )


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_chinese_spacing_and_names_from_the_data(lang):
    """Names the catalog knows are translated; others (a variant named by the data) are shown as
    written; Chinese text has no space between Chinese characters, one beside Latin names."""
    with use(lang=lang):
        assert N.variant_name("gate_40") == "gate_40"
        assert N.metric_name("spend") == "spend"
        text = N.t("ab_test.card.primary", metric=N.metric_name("retention_7"), variant="gate_40", control="gate_30")  # fmt: skip
    assert (
        text
        == {
            "en": "Day-7 retention, gate_40 vs gate_30",
            "zh": "7 日留存率，gate_40 对比 gate_30",
        }[lang]
    )
    assert N.tidy("实验组 的 转化率 gate_40 的 值", "zh") == "实验组的转化率 gate_40 的值"
    assert N.tidy("a b", "en") == "a b"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_verdict_rule_is_a_short_list_in_the_order_it_is_applied(lang):
    """Method: the rule as a numbered list (was one run-on sentence), in the order
    abtest.verdict applies it: SRM, ship on a gain, failed guardrail, harm, else inconclusive."""
    want = {
        "en": [
            "The verdict is the first of these rules that applies:",
            "1. A sample ratio mismatch (SRM, p-value below 0.001): no verdict; fix the assignment.",
            "2. Conversion significantly better at the 5% level and no guardrail failed: ship; a guardrail with not enough data must have enough first.",
            "3. A guardrail failed: don't ship.",
            "4. A metric significantly worse: don't ship.",
            "5. Otherwise inconclusive: the data cannot tell.",
        ],
        "zh": [
            "结论取以下规则中第一条适用的：",
            "1. 出现样本比例失衡（p 值低于 0.001）：不给结论，先修复分流。",
            "2. 转化率在 5% 水平上显著提升且没有护栏指标未通过：上线；数据不足的护栏指标须先有足够数据。",
            "3. 有护栏指标未通过：不上线。",
            "4. 某指标显著变差：不上线。",
            "5. 其余情况为不确定：数据不足以判断。",
        ],
    }[lang]  # fmt: skip
    notes = say(lang, N.method_notes, result([GAIN, AOV_SAME], AOV_GUARD))
    assert notes[:6] == want


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_passed_sample_ratio_check_states_its_threshold_and_a_unit_table_has_no_period(lang):
    """p = 0.0086 is "fair" only against the stated SRM threshold (0.001); a unit table without
    dates has no period, so the title line says so instead of the params' made-up one."""
    srm = A.SrmResult(0.0086, 6.9, {"control": 44700, "treatment": 45489}, {"control": 45094.5, "treatment": 45094.5})  # fmt: skip
    want = {
        "en": (
            "The units split as planned: the chi-square test's p-value, 0.0086, is not below 0.001, the threshold of a sample ratio mismatch (SRM), so the comparison below is fair.",
            "No period: the data is a table of units without dates (one row per unit)",
        ),
        "zh": (
            "各组单位数符合计划分流比例：卡方检验的 p 值为 0.0086，不低于样本比例失衡的判定阈值 0.001，因此下面的比较是公平的。",
            "无统计期：数据是不带日期的单位表（每个单位一行）",
        ),
    }[lang]  # fmt: skip
    assert say(lang, N.assignment_lead, result([FLAT, AOV_SAME], srm=srm)) == want[0]
    with use(lang=lang):
        assert N.period_text(False, "2014-01-01 – 2014-01-31") == want[1]
        assert N.period_text(True, "2025-09-01 – 2025-09-28") == "2025-09-01 – 2025-09-28"


def test_an_early_estimate_beyond_the_axis_is_marked_at_the_edge_not_drawn_off_it():
    """The cumulative chart scales to the later days: a first-day +96% is a triangle at the top
    edge with its value, not a line running off the chart."""
    from analysis_lib.present.charts import abtest as C

    days = pd.date_range("2025-09-01", periods=9)
    est = [0.96, 0.3, 0.2, 0.12, 0.1, 0.11, 0.1, 0.1, 0.1]
    df = pd.DataFrame({"day": days, "v": "treatment", "e": est})
    df["lo"], df["hi"] = df["e"] - 0.2, df["e"] + 0.2
    with use(lang="en"):
        fig = C.band_trend(df, "day", "e", "lo", "hi", "v", off_scale="off")
    ax = fig.axes[0]
    top = ax.get_ylim()[1]
    assert 0.3 < top < 0.96
    line = ax.get_lines()[0]
    assert all(not (y > top) for y in line.get_ydata())  # nothing drawn beyond the axis
    marks = [ln for ln in ax.get_lines() if ln.get_marker() == "^"]
    assert len(marks) == 1 and marks[0].get_ydata()[0] < top
    assert [t.get_text() for t in ax.texts] == ["+96.0%"]


def test_sentences_count_the_units_the_params_name():
    """``unit: players`` (Cookie Cats): the sentences count players / 玩家, never "units"."""
    res = result([FLAT, AOV_SAME], AOV_GUARD, plan=PLAN)
    with use(unit="players"):
        en = say("en", N.findings, res)[-1]
        zh = say("zh", N.findings, res)[-1]
        act = say("zh", N.actions, res)[0].text
    assert en.startswith("With 5,000 players in control, this test could detect")
    assert zh.startswith("对照组有 5,000 个玩家时，本实验约能检测到")
    assert "每组需要 14,745 个玩家（按每天 500 个玩家需 59 天）" in act
