"""The KPI monitor's "look into the channel" action names the measure its rule ranks by: the
loss in GMV (money), not the percentage fall. With organic losing more money (−11.1%) and search
falling further in percent (−11.9%), as in the sample's daily alerts, the action must name
organic with its loss in money and must not call it the largest (percentage) fall."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis_lib.analyses import kpi
from analysis_lib.present.context import use
from analysis_lib.present.narrative import kpi_monitor as N
from analysis_lib.present.numbers import fmt
from tests.test_narrative_kpi_monitor import result

PREV = {"organic": 13250.0, "search": 8832.0, "email": 5000.0}
NOW = {"organic": 11778.0, "search": 7781.0, "email": 5100.0}

SAYS = {  # the money measure the rule ranks by, and the wording it must not use
    "en": ("the largest loss in GMV of any channel", "largest fall"),
    "zh": ("是各渠道中 GMV 减少金额最大的", "降幅最大"),
}


def channels() -> pd.DataFrame:
    t = pd.DataFrame({"value": list(PREV), "gmv": list(NOW.values())})
    t["previous"] = list(PREV.values())
    t["change"] = t["gmv"] - t["previous"]
    t["change_pct"] = t["gmv"] / t["previous"] - 1
    return t


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_channel_action_names_the_loss_in_money(lang):
    r = result(breakdowns=[kpi.Breakdown("channel", channels())])
    fell = [s for s in kpi.signals(r) if isinstance(s, kpi.SegmentFell)]
    assert [s.value for s in fell] == ["organic"]  # the larger loss, not the larger % fall
    t = channels().set_index("value")
    assert t.loc["search", "change_pct"] < t.loc["organic", "change_pct"]
    with use(lang=lang, currency="CNY"):
        text = next(a.text for a in N.actions(r) if "organic" in a.text.lower() or "自然" in a.text)
        loss = fmt(PREV["organic"] - NOW["organic"], "money")
        change = fmt(NOW["organic"] / PREV["organic"] - 1, "signed_pct")
    names, never = SAYS[lang]
    assert names in text
    assert never not in text
    assert loss in text and change in text
