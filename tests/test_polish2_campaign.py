"""Campaign retrospective: every card of a statistical figure carries its verdict (the
post-campaign dip's, from its interval, the same on the card, in the findings and on the index),
and the lessons and actions on a channel's ROI say what a descriptive split can support: below
or above break-even, tested before acting, never "did not work" / "无效"."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from analysis_lib.analyses import campaign as CA
from analysis_lib.present.context import use
from analysis_lib.present.narrative import campaign_retro as NC
from analysis_lib.present.reports import campaign_retro as RC
from analysis_lib.present.words import t, value
from tests.test_narrative_impact import retro

POSTS = {
    "inconclusive": (-3558.0, -10451.0, 2937.0),
    "did_not_work": (-9000.0, -15000.0, -2000.0),
    "worked": (4000.0, 1000.0, 7000.0),
}


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("kind", sorted(POSTS))
def test_post_dip_card_gives_the_verdict_of_its_interval(lang, kind):
    r = retro(post=POSTS[kind])
    with use(lang=lang, currency="CNY"):
        word = t(f"campaign_retro.effect_verdict.{kind}")
        card = {c.key: c for c in RC.cards(r)}["post_dip_gmv"]
        found = RC.verdicts(r)["post_dip_gmv"]
        post_finding = [f for f in NC.findings(r) if card.value.lstrip("+") in f]
    assert card.unit.startswith(word), card.unit  # the card leads with the verdict, like ROI's
    assert found == word  # the index row gives the same
    assert post_finding and word in post_finding[0]  # and the finding


def _with_channels(rows) -> CA.Retro:
    r = retro()
    ch = pd.DataFrame(rows, columns=CA.CHANNEL_COLUMNS)
    return dataclasses.replace(r, roi=CA.RoiResult(r.roi.total, ch, 0.5))


CHANNELS = [
    ["search", 1767.0, 0.22, 4724.0, -0.064, -0.636, 0.459, 2.67, 1.0, 4.0],
    ["ads", 1767.0, 0.08, 1783.0, -0.647, -0.863, -0.449, 1.01, 0.4, 1.6],
    ["social", 1767.0, 0.20, 9000.0, 0.8, 0.2, 1.4, 5.1, 3.4, 6.8],
]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_channel_lessons_and_actions_are_descriptive(lang):
    """The ads channel's interval lies below zero: the lesson says below break-even
    (descriptive), names it the lowest of the paid channels and asks for a test before cutting;
    no channel row says "worked" / "did not work" (有效 / 无效); the actions test before
    cutting or adding budget."""
    r = _with_channels(CHANNELS)
    with use(lang=lang, currency="CNY"):
        df = NC.lessons(r)
        names = [value("channel", c) for c in ("search", "ads", "social")]
        chan = df[df["what"].isin([t("campaign_retro.lesson.channel", channel=n) for n in names])]
        effect_words = {t(f"campaign_retro.verdict.{k}") for k in ("worked", "did_not_work")}
        below = t("campaign_retro.result.below_break_even")
        above = t("campaign_retro.result.above_break_even")
        inconclusive = t("campaign_retro.verdict.inconclusive")
        lowest = t("campaign_retro.lesson.channel_lowest", n=3)
        test_cut = t("campaign_retro.lesson.channel_below")
        acts = [a.text for a in NC.actions(r)]
        cut_word, grow_word = (
            t("campaign_retro.action.cut", channels="§", detail="§").split("§")[0],
            t("campaign_retro.action.grow", channels="§", detail="§").split("§")[0],
        )
    assert len(chan) == 3
    assert not set(chan["result"]) & effect_words
    assert list(chan["result"]) == [inconclusive, below, above]
    ads = chan.iloc[1]["evidence"]
    assert lowest in ads and test_cut in ads
    assert lowest not in chan.iloc[0]["evidence"] and lowest not in chan.iloc[2]["evidence"]
    assert any(a.startswith(cut_word) for a in acts) and any(a.startswith(grow_word) for a in acts)
    if lang == "zh":
        assert "无效" not in "".join(chan["result"]) + "".join(acts)
    else:
        assert "did not work" not in " ".join(chan["result"]) and "Cut or" not in " ".join(acts)
