"""The product operations report (商品运营), one function per section, from the typed results of
:mod:`analysis_lib.analyses.product_ops` (:class:`~analysis_lib.analyses.product_ops.ProductOps`: the SKU table, the summary, the
action plan, the shop's inputs).

:func:`summary` records the figures in results.json first and shows the cards and findings from
the same :class:`~analysis_lib.analyses.product_ops.Summary`; :func:`actions` shows What to do,
most urgent first (restock first), naming the SKUs with the rule that picked them. Words come
from :mod:`analysis_lib.present.narrative.product_ops`.
"""

from __future__ import annotations

import pandas as pd

from analysis_lib.analyses import product_ops as PO
from analysis_lib.present import blocks
from analysis_lib.present.bootstrap import Run
from analysis_lib.present.charts import product_ops as charts
from analysis_lib.present.narrative import product_ops as N
from analysis_lib.present.narrative.product_ops import action_label, w
from analysis_lib.present.tables import table
from analysis_lib.present.words import label, value

HEADLINE = [
    "sell_through_rate",
    "slow_movers",
    "stockout_risk_skus",
    "inventory_turnover",
    "gross_margin",
    "skus_sold",
]
PER_ACTION = N.SKUS_LISTED  # SKUs listed per action in the detail table (all in results.json)


def figures(r: PO.ProductOps) -> dict:
    """The figures for results.json: the same keys as before the presentation layer, plus the
    SKUs of each action the report recommends (``action_plan``, most urgent first: a list, as
    results.json keeps no key order)."""
    gone = PO.unavailable(r.have)
    skus = r.skus
    return r.summary.figures() | {
        "slow_mover_skus": None
        if "slow_movers" in gone
        else skus.loc[skus.slow_mover, "sku"].tolist(),
        "stockout_risk_sku_list": None
        if "stockout_risk_skus" in gone
        else skus.loc[skus.stockout_risk, "sku"].tolist(),
        "actions": r.counts,
        # figures the shop's tables cannot give (None above), with the reason
        "not_available": N.not_available(r.have, "en"),
        "action_plan": [{"action": g.action, "skus": g.skus["sku"].tolist()} for g in r.plan],
    }


def summary(run: Run, r: PO.ProductOps) -> None:
    """Title line, cards and findings; records the figures first."""
    P = run.P
    blocks.record_figures(figures(r), headline=HEADLINE, shown=N.index_extras(r.summary))
    cards = N.cards(r.summary, r.have, P.slow_days, P.lead_time_days)
    found = N.findings(r.summary, r.have, r.counts, P.slow_days, P.lead_time_days)
    period = f"{run.start} – {run.end}"
    blocks.show(
        blocks.title_block(P.title_text, period, last_day=run.last_day),
        blocks.summary_block(cards, found),
    )


def actions(run: Run, r: PO.ProductOps) -> None:
    """What to do: restock, clear, delist, bundle, most urgent first, each with its rule."""
    P = run.P
    todo, none_reason = N.actions(
        r.plan, P.slow_days, P.lead_time_days, r.summary.median_margin, r.have
    )
    blocks.show(blocks.actions_block(todo, none_reason))


def rules(run: Run, r: PO.ProductOps) -> None:
    """The rules in the order they apply with the SKUs each picked; actions by category."""
    P = run.P
    rt = N.rules_table(r.have, r.counts, P.slow_days, P.lead_time_days, r.summary.median_margin)
    if not rt["not_applied"].astype(bool).any():
        rt = rt.drop(columns="not_applied")
    labels = {"rule": w("col.rule"), "not_applied": w("col.not_applied")}
    blocks.show(
        blocks.section(w("section.rules.title"), w("section.rules.lead")),
        table(rt, {"skus": "count"}, labels),
    )
    present = [a for a in PO.ACTIONS if a in r.counts]
    counts = r.skus.groupby(["category", "action"]).size().unstack(fill_value=0)
    counts = counts[present].loc[
        r.skus.groupby("category")["revenue"].sum().sort_values(ascending=False).index
    ]
    counts.index = [value("category", c) for c in counts.index]
    fig = charts.actions_by_category(
        counts,
        {a: action_label(a) for a in present},
        w("chart.actions.title"),
        w("chart.actions.x"),
    )
    blocks.figure(fig, w("chart.actions.alt"))


def categories(run: Run, r: PO.ProductOps) -> None:
    """By category, then the ABC concentration."""
    cats = PO.by_category(r.skus, r.have)
    cats["category"] = [value("category", c) for c in cats["category"]]
    blocks.show(
        blocks.section(w("section.by_category.title"), w("section.by_category.lead")),
        table(
            cats,
            {
                "skus": "count",
                "sell_through_rate": "pct",
                "revenue": "money",
                "gross_margin": "pct",
                "slow_movers": "count",
                "stockout_risk": "count",
            },
        ),
    )
    abc = r.skus.groupby("abc").agg(skus=("sku", "size"), revenue=("revenue", "sum")).reset_index()
    abc["revenue_share"] = abc["revenue"] / abc["revenue"].sum()
    blocks.show(
        blocks.section(w("section.abc.title"), w("section.abc.lead")),
        table(abc, {"skus": "count", "revenue": "money", "revenue_share": "pct"}),
    )


def sku_list(run: Run, r: PO.ProductOps) -> None:
    """The SKUs that need an action, most urgent action first, at most :data:`PER_ACTION` each."""
    if not r.plan:
        return
    cols = [
        "sku",
        "category",
        "price",
        "price_position",
        "units",
        "revenue",
        "margin",
        "abc",
        "on_hand",
        "days_of_supply",
        "action",
    ]
    if not r.have["cost"]:
        cols.remove("margin")
    if not r.have["inventory"]:
        cols = [c for c in cols if c not in ("on_hand", "days_of_supply")]
    shown = pd.concat([g.skus.head(PER_ACTION) for g in r.plan], ignore_index=True)[cols]
    shown["action"] = [action_label(a) for a in shown["action"]]
    shown["category"] = [value("category", c) for c in shown["category"]]
    if "days_of_supply" in shown:  # words for out of stock and no recent sale, one decimal else
        shown["days_of_supply"] = [N.supply(v, run.P.slow_days) for v in shown["days_of_supply"]]
    blocks.show(
        blocks.section(w("section.skus.title"), N.skus_lead(r.plan, PER_ACTION, run.P.slow_days)),
        table(
            shown,
            {
                "price": "money",
                "price_position": "pct",
                "units": "count",
                "revenue": "money",
                "margin": "pct",
                "on_hand": "count",
            },
            {"price": w("col.price"), "margin": label("gross_margin")},
        ),
    )


def method(run: Run, r: PO.ProductOps) -> None:
    """Method and caveats."""
    P = run.P
    blocks.show(
        blocks.method_block(N.method_notes(r.summary, r.have, P.slow_days, P.lead_time_days))
    )
