"""Product operations: the planted slow movers and stock-out are found; rules and bad inputs."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from analysis_lib.analyses import product_ops as PO
from analysis_lib.core import data
from analysis_lib.present.context import use
from analysis_lib.present.narrative import product_ops as N

Q4 = (dt.date(2025, 10, 1), dt.date(2025, 12, 31))


@pytest.fixture(scope="module")
def skus(sample_dir):
    return PO.sku_table(data.connect(str(sample_dir)), *Q4)


def test_planted_slow_movers_found(skus, truth):
    found = set(skus.loc[skus.slow_mover, "sku"])
    planted = set(truth["products"]["slow_movers"])
    in_stock = set(skus.loc[skus.on_hand > 0, "sku"])
    assert planted & in_stock <= found
    assert (skus.set_index("sku").loc[sorted(planted), "recent_units"] == 0).all()


def test_planted_stockout_found(skus, truth):
    row = skus.set_index("sku").loc[truth["products"]["stockout_sku"]]
    assert row.on_hand == 0 and bool(row.stocked_out) and bool(row.stockout_risk)
    assert row.action == "restock"


def test_sell_through_and_abc_by_hand(skus):
    s = PO.summary(skus, 92)
    on_sale = skus[skus.on_sale]
    assert s.sell_through_rate == pytest.approx((on_sale.units > 0).mean())
    a_share = skus.loc[skus.abc == "A", "revenue"].sum() / skus.revenue.sum()
    assert 0.80 <= a_share < 0.80 + skus.revenue.max() / skus.revenue.sum() + 1e-9


def test_actions_follow_the_rules():
    df = pd.DataFrame(
        {
            "stockout_risk": [True, False, False, False, False],
            "slow_mover": [False, True, True, False, False],
            "gross_margin": [0.3, 0.6, 0.1, 0.3, 0.3],
            "revenue": [10.0, 10.0, 10.0, 10.0, 10.0],
            "abc": ["A", "B", "C", "C", "A"],
            "sold": [True, False, False, True, True],
        }
    )
    assert PO.actions(df).tolist() == [
        "restock",
        "clear (promotion / live stream)",
        "delist",
        "bundle",
        "keep",
    ]


def test_the_slow_mover_rules_do_what_they_print():
    """Review, round 2: slow movers without a sale in the period had no margin, took the median's
    and were "cleared" under a rule of "margin at or above the median"; class-B SKUs were
    delisted on margin alone. Now a SKU without a sale reads its list margin, delisting needs
    class C, and a slow mover no rule decides is "clear or delist" (by hand)."""
    df = pd.DataFrame(
        {
            "stockout_risk": [False] * 6,
            "slow_mover": [True] * 5 + [False],
            "gross_margin": [0.5, 0.2, np.nan, np.nan, 0.1, 0.4],  # median 0.3
            "revenue": [10.0, 10.0, 10.0, 0.0, 500.0, 10.0],
            "margin": [0.5, 0.2, np.nan, 0.05, 0.1, 0.4],  # the fourth: list margin, no sale
            "abc": ["C", "C", "C", "C", "B", "A"],
            "sold": [True, True, True, False, True, True],
        }
    )
    assert PO.actions(df).tolist() == [
        "clear (promotion / live stream)",
        "delist",
        "clear or delist",  # no margin known
        "delist",  # list margin below the median, class C
        "clear or delist",  # class B below the median: not delisted on margin alone
        "keep",
    ]


def test_every_slow_mover_to_clear_or_delist_has_a_margin_on_its_side(skus):
    """On the sample shop: every SKU the clear rule picks has a margin at or above the median, every
    one the delist rule picks a margin below it and class C (the rules as printed)."""
    median = PO.median_margin(skus)
    clear = skus[skus.action == "clear (promotion / live stream)"]
    delist = skus[skus.action == "delist"]
    assert len(clear) and len(delist)
    assert (clear.margin >= median).all()
    assert (delist.margin < median).all() and (delist.abc == "C").all()
    listed = skus[skus.revenue == 0].dropna(subset=["cost"])
    assert np.allclose(listed.margin, (listed.price - listed.cost) / listed.price)


def test_negative_stock_is_counted_and_treated_as_zero(tmp_path, sample_dir):
    folder = tmp_path / "shop"
    folder.mkdir()
    for t in ["orders", "order_items"]:
        (folder / t).symlink_to(sample_dir / t)
    (folder / "products.parquet").symlink_to(sample_dir / "products.parquet")
    inv = pd.read_parquet(sample_dir / "inventory.parquet")
    inv.loc[inv.index[-3:], "on_hand"] = -5
    inv.to_parquet(folder / "inventory.parquet")
    df = PO.sku_table(data.connect(str(folder)), *Q4)
    assert PO.summary(df, 92).negative_stock_rows == 3
    assert (df.on_hand.dropna() >= 0).all()


def test_duplicate_skus_refused(tmp_path, sample_dir):
    from analysis_lib.errors import DataError
    from analysis_lib.run import runner

    folder = tmp_path / "shop"
    folder.mkdir()
    for t in ["orders", "order_items"]:
        (folder / t).symlink_to(sample_dir / t)
    p = pd.read_parquet(sample_dir / "products.parquet")
    pd.concat([p, p.head(2)]).to_parquet(folder / "products.parquet")
    params = tmp_path / "p.yaml"
    params.write_text(
        f"notebook: product_ops\ntitle: P\ndata: {{url: {folder}}}\nperiod: {{start: 2025-10-01, end: 2025-12-31}}\n"
    )
    with pytest.raises(
        DataError, match=r"column 'products.sku' has 2 value\(s\) that appear more than once"
    ):
        runner.prepare(params)


def test_orders_without_user_id_refused(tmp_path, sample_dir):
    from analysis_lib.errors import DataError

    pd.read_parquet(sample_dir / "orders").drop(columns="user_id").to_parquet(
        tmp_path / "orders.parquet"
    )
    src = data.connect(str(tmp_path))
    with pytest.raises(DataError, match="table 'orders' is missing required column 'user_id'"):
        data.check_tables(src, {"orders": None})


def _shop(sample_dir, folder, inventory: bool, cost: bool):
    """The sample shop, optionally without its inventory table and without any unit cost."""
    folder.mkdir()
    for t in ["orders"] + (["inventory.parquet"] if inventory else []):
        (folder / t).symlink_to(sample_dir / t)
    p, it = (
        pd.read_parquet(sample_dir / "products.parquet"),
        pd.read_parquet(sample_dir / "order_items"),
    )
    if not cost:
        p, it = p.drop(columns="cost"), it.drop(columns="unit_cost")
    p.to_parquet(folder / "products.parquet")
    it.to_parquet(folder / "order_items.parquet")
    return data.connect(str(folder))


@pytest.mark.parametrize("inventory,cost", [(False, True), (True, False), (False, False)])
def test_missing_cost_or_inventory_gives_na_with_the_reason(
    tmp_path, sample_dir, skus, inventory, cost
):
    """Without a cost the margin is n/a (before: "Gross margin 100.0%", the missing cost summed as
    zero); without inventory the sell-through, slow movers, stock-out risk and turnover are n/a
    (before: "turnover nan×", and only selling SKUs "on sale", so a sell-through of 100%). What
    needs neither (revenue, ABC, SKUs sold) equals the full shop's."""
    src = _shop(sample_dir, tmp_path / "shop", inventory, cost)
    have = PO.inputs(src)
    assert have == {"inventory": inventory, "cost": cost}
    df = PO.sku_table(src, *Q4)
    s, full = (
        PO.summary(df, 92, have).figures(),
        PO.summary(skus, 92, PO.inputs(data.connect(str(sample_dir)))).figures(),
    )
    gone = PO.unavailable(have)
    assert ("gross_margin" in gone) == (not cost)
    assert ("sell_through_rate" in gone) == (not inventory)
    assert "inventory_turnover" in gone
    for k in gone:
        assert np.isnan(s[k]), k
    for k in set(full) - set(gone):
        assert s[k] == pytest.approx(full[k]), k
    assert s["skus_sold"] == int((df.units > 0).sum()) and s["skus_in_catalogue"] == len(df)
    assert df.set_index("sku").abc.to_dict() == skus.set_index("sku").abc.to_dict()
    reasons = N.not_available(have, "en")
    if not cost:
        assert gone["gross_margin"] == ("cost",) and df.gross_margin.isna().all()
        assert "needs a cost" in reasons["gross_margin"]
        assert "gross_margin" not in PO.by_category(df, have)
    if not inventory:
        assert "inventory table" in reasons["slow_movers"] and df.days_of_supply.isna().all()
        assert not df.slow_mover.any() and set(df.action) <= {"bundle", "keep"}
        with use(lang="en"):
            rules = N.rules_table(have, {}, 30, 7, float("nan")).set_index("action")
        assert "inventory" in rules.loc["restock", "not_applied"]
        assert rules.loc["bundle", "not_applied"] == ""
    elif not cost:  # slow movers found, but the margin that splits clear from delist is unknown
        assert df.slow_mover.any()
        assert set(df.loc[df.slow_mover, "action"]) - {"restock"} == {"clear or delist"}
    summ = PO.summary(df, 92, have)
    for lang, na in [("en", "Not available"), ("zh", "无法计算")]:
        with use(lang=lang):
            f = N.findings(summ, have, df.action.value_counts().to_dict(), 30, 7)
        assert any(na in x for x in f) and not any("nan" in x for x in f)


def test_an_empty_cost_column_is_no_cost(tmp_path, sample_dir, skus):
    """An export's cost column with no value is no cost (before: summed as zero, a 100% margin);
    a SKU without a cost leaves the margin of those with one unchanged."""
    _shop(sample_dir, tmp_path / "shop", inventory=True, cost=False)
    it = pd.read_parquet(sample_dir / "order_items").assign(unit_cost=np.nan)
    it.to_parquet(tmp_path / "shop" / "order_items.parquet")
    src = data.connect(str(tmp_path / "shop"))
    assert PO.inputs(src)["cost"] is False
    assert np.isnan(PO.summary(PO.sku_table(src, *Q4), 92).gross_margin)
    part = skus.copy()
    sold = part.index[part.revenue > 0]
    part.loc[sold[:5], "cogs"] = np.nan
    rest = skus.drop(index=sold[:5])
    want = (rest.revenue.sum() - rest.cogs.sum()) / rest.revenue.sum()
    assert PO.summary(part, 92).gross_margin == pytest.approx(want)


@pytest.mark.parametrize("product_cost", [True, False])
def test_lines_without_a_cost_never_count_as_free(tmp_path, sample_dir, skus, product_cost):
    """Order lines whose unit_cost is empty (real exports fill cost on recent orders only) are
    costed at the product's cost, or leave the SKU's cost unknown; before, the other lines' cost
    stood against all of the revenue and the margin read too high."""
    _shop(sample_dir, tmp_path / "shop", inventory=True, cost=True)
    it = pd.read_parquet(sample_dir / "order_items")
    gap = it.index[::2]
    it.loc[gap, "unit_cost"] = np.nan
    it.to_parquet(tmp_path / "shop" / "order_items.parquet")
    if not product_cost:
        p = pd.read_parquet(sample_dir / "products.parquet").drop(columns="cost")
        p.to_parquet(tmp_path / "shop" / "products.parquet")
    got = PO.sku_table(data.connect(str(tmp_path / "shop")), *Q4).set_index("sku")
    full = skus.set_index("sku")
    # independently: each line's cost is its unit_cost, else the product's cost, else unknown
    o = pd.read_parquet(sample_dir / "orders")
    o = o[o.status.isin(["paid", "refunded"])]
    o = o[
        (o.order_ts >= pd.Timestamp(Q4[0]))
        & (o.order_ts < pd.Timestamp(Q4[1]) + pd.Timedelta(days=1))
    ]
    lines = it.merge(o[["order_id"]], on="order_id")
    pc = pd.read_parquet(sample_dir / "products.parquet").set_index("sku")["cost"]
    cost = lines.unit_cost.fillna(lines.sku.map(pc) if product_cost else np.nan)
    want = (
        lines.assign(c=lines.quantity * cost)
        .groupby("sku")
        .c.apply(lambda s: s.sum() if s.notna().all() else np.nan)
    )
    sold = want.index
    assert np.allclose(got.loc[sold, "cogs"], want, equal_nan=True)
    assert got.loc[sold, "revenue"].equals(full.loc[sold, "revenue"])
    known = want.dropna().index
    assert got.loc[sold, "cogs"].isna().any() != product_cost  # only unknown without a product cost
    margin = (got.loc[known, "revenue"].sum() - want[known].sum()) / got.loc[known, "revenue"].sum()
    assert PO.summary(got.reset_index(), 92).gross_margin == pytest.approx(margin)


def test_action_plan_puts_restock_first_and_lists_every_action(skus):
    """Issue 16: the SKU list sorted actions alphabetically ("bundle" < "clear" < "delist" <
    "restock") and cut at 60, so the 2 restock SKUs and the 20 delist SKUs never showed. The plan
    lists every action but keep, most urgent first, restock by fewest days of supply."""
    plan = PO.action_plan(skus)
    got = [g.action for g in plan]
    assert got == [a for a in PO.ACTIONS if a in set(skus.action) and a != "keep"]
    assert got[0] == "restock" and "delist" in got
    counts = skus.action.value_counts()
    for g in plan:
        assert g.count == counts[g.action] and set(g.skus.action) == {g.action}
    restock = plan[0].skus
    assert restock.days_of_supply.is_monotonic_increasing
    assert (restock.days_of_supply < 7).all() and (restock.recent_units > 0).all()
    for g in plan[1:]:
        assert g.skus.revenue.is_monotonic_decreasing
