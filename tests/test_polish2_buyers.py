"""December buyers: the KPI monitor says 395, the funnel 411 reached purchase. Both are right
by definition: the KPI monitor's buyers are users with a paid or refunded order; the funnel's
purchase step counts the purchase event, which an order cancelled later still has. On the sample
shop the two differ by exactly the users whose December orders were all cancelled (counted here
independently, in DuckDB over the files), and each report says what it counts (en, zh)."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from analysis_lib.analyses import funnel as F
from analysis_lib.analyses import kpi
from analysis_lib.core import data
from analysis_lib.present.context import use
from analysis_lib.present.narrative import funnel as NF
from analysis_lib.present.narrative import kpi_monitor as NK
from analysis_lib.present.reports import funnel as RF
from analysis_lib.present.words import t

DEC = (dt.date(2025, 12, 1), dt.date(2025, 12, 31))
STEPS = ("page_view", "product_view", "add_to_cart", "checkout", "purchase")


def _cancelled_only(sample_dir) -> int:
    """Users with a purchase event in December and no paid or refunded order in December."""
    con = duckdb.connect()
    lo, hi = "TIMESTAMP '2025-12-01'", "TIMESTAMP '2026-01-01'"
    return con.sql(
        f"""
        select count(distinct user_id) from '{sample_dir}/events/*.parquet'
        where event = 'purchase' and event_ts >= {lo} and event_ts < {hi}
          and user_id not in (
            select user_id from '{sample_dir}/orders/*.parquet'
            where status in ('paid', 'refunded') and order_ts >= {lo} and order_ts < {hi})
        """
    ).fetchone()[0]


def test_funnel_and_kpi_buyers_differ_by_cancelled_only_users(sample_dir):
    src = data.connect(str(sample_dir))
    buyers = kpi.monitor(src, *DEC, "day").totals["buyers"]
    spec = F.FunnelSpec(STEPS, window=7 * 86400.0)
    reached = F.analyse(src, spec, *DEC).completed
    extra = _cancelled_only(sample_dir)
    assert extra > 0  # the sample shop cancels some orders: the two counts differ
    assert reached - buyers == extra
    units = {}
    for lang in ("en", "zh"):
        with use(lang=lang, currency="CNY"):
            # the funnel's card and method say the purchase step counts events, cancelled too
            card = RF.cards(F.analyse(src, spec, *DEC))["completed"]
            assert card.unit == t("funnel.cards.completed_purchase", unit=NF.unit(spec))
            notes = NF.method_notes(spec, "UTC", "week")
            assert t("funnel.method.purchase", unit=NF.unit(spec)) in notes
            # the KPI monitor's definitions say buyers are valid orders' users, and why the
            # funnel can show more
            assert NK.w("method.definitions") in NK.method_notes(kpi.monitor(src, *DEC, "day"))
            units[lang] = card.unit
    assert "cancelled orders included" in units["en"] and "含已取消订单" in units["zh"]
    with use(lang="en"):
        assert "cancelled" in NK.w("method.definitions").split("Buyers are")[1]
    with use(lang="zh"):
        assert "订单全部取消的用户不计入" in NK.w("method.definitions")


@pytest.mark.parametrize("last", ["checkout", "purchase"])
def test_only_a_purchase_step_carries_the_note(sample_dir, last):
    src = data.connect(str(sample_dir))
    steps = STEPS[: STEPS.index(last) + 1]
    spec = F.FunnelSpec(steps)
    with use(lang="en"):
        card = RF.cards(F.analyse(src, spec, *DEC))["completed"]
    assert ("cancelled" in card.unit) == (last == "purchase")
