"""The market report's buyer persona over a shop whose orders mark guest checkouts
(``orders.is_guest``): guests have no profile in ``users``, so they are left out of the persona as
in the customer value analysis, and the section says how many with their shares (en and zh)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis_lib.analyses import market
from analysis_lib.core import data
from analysis_lib.present.context import use
from analysis_lib.present.narrative import market_analysis as N
from analysis_lib.present.numbers import fmt

START, END = dt.date(2025, 1, 1), dt.date(2025, 12, 31)


@pytest.fixture(scope="module")
def guest_shop(tmp_path_factory, sample_dir) -> Path:
    """The sample shop's orders and users with one order in six a guest checkout under its own
    ``guest:<order>`` id (as the importers write); guests are not in ``users``."""
    out = tmp_path_factory.mktemp("market_guests")
    o = pd.read_parquet(sample_dir / "orders").sort_values("order_id").reset_index(drop=True)
    guest = np.random.default_rng(11).random(len(o)) < 1 / 6
    o.loc[guest, "user_id"] = "guest:" + o.loc[guest, "order_id"]
    o.assign(is_guest=guest).to_parquet(out / "orders.parquet")
    pd.read_parquet(sample_dir / "users").to_parquet(out / "users.parquet")
    return out


def _valid(o: pd.DataFrame) -> pd.DataFrame:
    """The period's paid and refunded orders (the metrics' valid orders), in pandas."""
    o = o[o.status.isin(["paid", "refunded"])]
    return o[
        (o.order_ts >= pd.Timestamp(START))
        & (o.order_ts < pd.Timestamp(END) + pd.Timedelta(days=1))
    ]


def test_guests_are_left_out_of_the_persona_and_counted(guest_shop):
    p = market.buyer_persona(data.connect(str(guest_shop)), START, END)
    o = _valid(pd.read_parquet(guest_shop / "orders.parquet"))
    known, guests = o[~o.is_guest], o[o.is_guest]
    assert len(guests) > 100
    assert p.buyers == known.user_id.nunique()
    assert p.guests.orders == len(guests)
    assert p.guests.gmv_share == pytest.approx(guests.gmv.sum() / o.gmv.sum(), rel=1e-9)
    assert p.guests.order_share == pytest.approx(len(guests) / len(o), rel=1e-9)
    # every buyer in the persona has a profile: no share goes to a missing gender or region
    for dim in ("gender", "region"):
        assert not p.dims[dim]["value"].isin(["nan", "None", "<NA>"]).any(), p.dims[dim]
        assert p.dims[dim]["all_buyers"].sum() == pytest.approx(1.0)


def test_a_shop_without_guests_has_the_same_persona(sample_dir):
    """Without the column, every valid order's buyer counts, as before; no guests to report."""
    p = market.buyer_persona(data.connect(str(sample_dir)), START, END)
    o = _valid(pd.read_parquet(sample_dir / "orders"))
    assert p.buyers == o.user_id.nunique() and p.guests is None
    with use(lang="en", currency="CNY"):
        assert "guest" not in N.persona_lead(p)


@pytest.mark.parametrize(
    ("lang", "said"),
    [
        ("en", "{n} guest orders ({o} of orders, {g} of GMV) are left out"),
        ("zh", "{n} 笔游客订单（占订单数的 {o}，占 GMV 的 {g}）未计入画像"),
    ],
)
def test_the_persona_section_says_how_many_guests_are_left_out(guest_shop, lang, said):
    p = market.buyer_persona(data.connect(str(guest_shop)), START, END)
    with use(lang=lang, currency="CNY"):
        lead = N.persona_lead(p)
        want = said.format(
            n=fmt(p.guests.orders, "count"),
            o=fmt(p.guests.order_share, "pct"),
            g=fmt(p.guests.gmv_share, "pct"),
        )
        buyers = fmt(p.buyers, "count")
    assert want in lead and lead.count(buyers) == 1
