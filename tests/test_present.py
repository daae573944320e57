"""The presentation foundation: the catalog is complete in both languages, numbers follow
REPORTS.md through Babel, blocks escape what comes from data, tables show numbers through the one
formatter."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis_lib.present import blocks, numbers, tables, words
from analysis_lib.present.context import LANGS, configure, settings, use
from analysis_lib.present.numbers import fmt, p_value, rate_change


def test_every_catalog_entry_has_both_languages_and_the_same_placeholders():
    cat = words.catalog()
    assert len(cat) > 100
    for key, entry in cat.items():
        assert set(entry) == set(LANGS), key
        for lang in LANGS:  # separators may be blank (Chinese joins sentences without a space)
            assert entry[lang].strip() or key.endswith("_sep"), (key, lang)
        assert words.fields(entry["en"]) == words.fields(entry["zh"]), key


def test_chinese_entries_are_chinese():
    """A zh entry with no CJK character is an English word on a Chinese page, unless it is an
    acronym or a symbol (GMV, SKU, p, %)."""
    import re

    for key, entry in words.catalog().items():
        zh = re.sub(r"{\w+[^}]*}", "", entry["zh"])
        if re.search(r"[a-z]{4,}", zh) and not re.search(r"[\u4e00-\u9fff]", zh):
            pytest.fail(f"{key}: {entry['zh']!r} has no Chinese")


def test_lookup_and_fallbacks():
    with use(lang="zh"):
        assert words.t("summary") == "摘要"
        assert words.t("no_action", reason="x") == "暂无行动建议：x"
        assert words.value("event", "purchase") == "支付"
        assert words.value("channel", "my_own_channel") == "my_own_channel"  # data names as written
        assert words.label("gmv") != "gmv"  # metric registry
    with pytest.raises(words.MissingWord):
        words.t("no.such.key")
    with pytest.raises(words.MissingWord):
        words.label("an_unknown_column")  # a column id never reaches a reader


@pytest.mark.parametrize(
    ("value", "kind", "en", "zh"),
    [
        (1234567.8, "count", "1,234,568", "1,234,568"),
        (1234567.8, "money", "CN¥1,234,568", "¥1,234,568"),
        (45.6, "money", "CN¥45.60", "¥45.60"),
        (897.18, "money", "CN¥897", "¥897"),
        (0.0, "money", "CN¥0", "¥0"),
        (1234567, "money_compact", "CN¥1.23M", "¥123.5万"),
        (123456789, "money_compact", "CN¥123.5M", "¥1.23亿"),
        (-5300, "signed_money", "−CN¥5,300", "−¥5,300"),
        (0.1234, "pct", "12.3%", "12.3%"),
        (-0.0004, "signed_pct", "0.0%", "0.0%"),
        (0.021, "pp", "+2.1 pp", "+2.1 个百分点"),
        (-0.0001, "pp", "0.0 pp", "0.0 个百分点"),
        (-0.3, "count", "0", "0"),
        (0.0002, "p_value", "< 0.001", "< 0.001"),
        (0.0128, "p_value", "0.013", "0.013"),
        (None, "pct", "n/a", "无数据"),
        (float("nan"), "money", "n/a", "无数据"),
        (5400, "duration", "1.5 h", "1.5 小时"),
    ],
)
def test_numbers_follow_the_house_style(value, kind, en, zh):
    for lang, want in (("en", en), ("zh", zh)):
        with use(lang=lang, currency="CNY"):
            assert fmt(value, kind) == want


def test_money_without_a_currency_has_no_symbol_and_p_values_never_print_zero():
    with use(lang="en", currency=None):
        assert fmt(1234.5, "money") == "1,234"
        assert fmt(12.5, "money") == "12.50"
    for p in (0.0, 1e-12, 0.0009, 0.001, 0.004, 0.05, 0.5, 1.0):
        assert p_value(p) not in ("0.00", "0", "0.0")
    assert p_value(0.0049) == "0.0049"


def test_rate_change_gives_points_first_then_relative():
    with use(lang="en"):
        assert rate_change(0.12, 0.10) == "+2.0 pp (+20.0%)"
        assert rate_change(0.10, 0.10) == "0.0 pp (0.0%)"
    with use(lang="zh"):
        assert rate_change(0.09, 0.10) == "−1.0 个百分点（−10.0%）"
        assert rate_change(None, 0.1) == "无数据"


def test_settings_live_in_a_context_not_a_global():
    before = settings()
    with use(lang="zh", currency="USD"):
        assert settings().lang == "zh"
    assert settings() == before
    with pytest.raises(ValueError):
        configure(lang="fr")


def test_blocks_escape_data_and_cards_say_good_or_bad():
    with use(lang="en"):
        card = blocks.Card(
            "Refund rate", "5.1%", "of GMV", "+1.0 pp", "up", blocks.tone_of(0.01, False)
        )
        html = blocks.summary_block([card], ["<script>x</script> happened"]).markup
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "wb-bad" in html and "▲" in html
    assert blocks.tone_of(0.01, True) == "good" and blocks.tone_of(-0.01, True) == "bad"
    assert blocks.tone_of(0.0, True) == "neutral" and blocks.direction_of(float("nan")) is None
    with use(lang="zh"):
        todo = blocks.actions_block([blocks.Action("补货 SKU A", "可售天数 < 补货周期")]).markup
        none = blocks.actions_block([], "所有指标都在目标范围内").markup
    assert "行动建议" in todo and "规则" in todo and "暂无行动建议" in none


def test_tables_show_numbers_through_the_one_formatter():
    df = pd.DataFrame(
        {"channel": ["ads", None], "gmv": [1234567.0, None], "gmv_share": [0.25, 0.75]}
    )
    with use(lang="zh", currency="CNY"):
        html = tables.table(df, {"gmv": "money", "gmv_share": "pct"}).markup
    assert "¥1,234,567" in html and "25.0%" in html and "无数据" in html
    assert "None" not in html and "nan" not in html and "<script" not in html
    with pytest.raises(words.MissingWord):
        tables.table(pd.DataFrame({"internal_id": [1]}))


def test_numbers_module_lists_every_kind_it_formats():
    kinds = numbers.Kind.__args__
    for kind in kinds:
        fmt(1.5, kind)  # each named kind is formatted, none raises
    with pytest.raises(ValueError):
        fmt(1.0, "no_such_kind")  # type: ignore[arg-type]
