"""Product operations: What to do and the SKU table agree on where an action's SKUs are, and the
stock-out risk card says what it counts.

Before: "Bundle 49 … and 41 more (table below)" while the table listed 25 of them and said 24
were not shown; the card's note said "selling SKUs with fewer days of supply than the lead time"
(zh "在售且可售…") while the SKUs it counts include those already out of stock."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis_lib.analyses import product_ops as PO
from analysis_lib.present.context import use
from analysis_lib.present.narrative import product_ops as N
from analysis_lib.present.reports import product_ops as R
from tests.test_narrative_product_ops import ALL, summary


def plan(n: int) -> list[PO.ActionGroup]:
    """``n`` SKUs to bundle."""
    rows = [(f"B{i:03d}", "bundle", 5.0, 40.0, float(1000 - i)) for i in range(n)]
    cols = ["sku", "action", "on_hand", "days_of_supply", "revenue"]
    return PO.action_plan(pd.DataFrame(rows, columns=cols))


SAYS = {  # all in the table; the first 25 of 49 in the table
    "en": ("(all in the SKU table below)", "lists the first 25 of the 49"),
    "zh": ("（均见下方 SKU 表）", "列出全部 49 个中的前 25 个"),
}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_action_says_how_many_of_its_skus_the_table_lists(lang):
    cap = N.SKUS_LISTED
    assert R.PER_ACTION == cap == 25  # the table lists what the action's words say it lists
    with use(lang=lang):
        few = N.actions(plan(cap), 30, 7, 0.3)[0][0].text
        many_plan = plan(49)
        many = N.actions(many_plan, 30, 7, 0.3)[0][0].text
        lead = N.skus_lead(many_plan, cap, 30)
        not_shown = N.w("section.skus.more_item", more="24", action=N.action_label("bundle"))
    all_below, first = SAYS[lang]
    assert f"{cap - N.SKUS_NAMED}" in few and all_below in few
    # more than the table holds: the action no longer says they are all below; it gives the
    # first 25 of the 49 there; the table's lead counts the 24 it leaves out
    assert f"{49 - N.SKUS_NAMED}" in many and first in many and all_below not in many
    assert not_shown in lead


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_stockout_card_and_findings_count_skus_already_out_of_stock(lang):
    """The analysis counts a SKU that sold recently and is out of stock as a stock-out risk
    (test_product_ops: the planted stock-out); the card, the finding and the method say so."""
    with use(lang=lang):
        card = next(c for c in N.cards(summary(), ALL, 30, 7) if c.key == "stockout_risk_skus")
        found = N.findings(summary(), ALL, {"keep": 1}, 30, 7)
        out = N.supply(0.0, 30)  # the SKU table's words for a SKU out of stock
        method = " ".join(N.method_notes(summary(), ALL, 30, 7))
    risk_finding = found[3]
    for text in (card.unit, risk_finding, method):
        assert out in text, text
    assert "在售且可售" not in card.unit and "selling SKUs with" not in card.unit
