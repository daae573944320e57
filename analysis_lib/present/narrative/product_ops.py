"""The words of the product operations report, generated from its typed results
(:class:`analysis_lib.analyses.product_ops.Summary` and the action plan): card notes, findings in
the order what happened → what drove it → what it means, the actions (which SKUs to restock,
clear, delist or bundle, most urgent first, each with its rule), why a measure is not available,
and the method notes. One place per sentence; the words are in ``catalog/product_ops.yaml``.
"""

from __future__ import annotations

import pandas as pd
from babel import numbers as B

from analysis_lib.analyses import product_ops as PO
from analysis_lib.present.blocks import Action, Card
from analysis_lib.present.context import lang_of
from analysis_lib.present.numbers import LOCALES, fmt, missing
from analysis_lib.present.words import t, value

NS = "product_ops"
SKUS_NAMED = 8  # SKUs named in an action; the rest are in the table below it
SKUS_LISTED = 25  # SKUs listed per action in the SKU table (all of them in results.json)
MEASURES = [
    "sell_through_rate",
    "inventory_turnover",
    "slow_movers",
    "stockout_risk_skus",
    "gross_margin",
]


def w(key: str, **values) -> str:
    """A sentence of this report's catalog."""
    return t(f"{NS}.{key}", **values)


def action_label(action: str) -> str:
    """The label of an action key (``restock`` → "restock" / "补货")."""
    return value("action", action)


def reason(missing: tuple[str, ...], lang: str | None = None) -> str:
    """Why a measure or rule needing the ``missing`` inputs is not available."""
    return t(f"{NS}.unavailable.sep", lang).join(t(f"{NS}.unavailable.{m}", lang) for m in missing)


def not_available(have: dict[str, bool], lang: str | None = None) -> dict[str, str]:
    """The headline figures the shop cannot give, each with the reason (results.json keeps the
    English ones: ``not_available``)."""
    return {k: reason(m, lang) for k, m in PO.unavailable(have).items()}


def rule(action: str, slow_days: int, lead_time_days: int, median_margin: float) -> str:
    """The rule of an action in words, with the figures it uses (the median margin)."""
    return w(
        f"rule.{action}",
        days=slow_days,
        lead=lead_time_days,
        median=fmt(median_margin, "pct"),
    )


# --- summary ---------------------------------------------------------------------------------


def cards(s: PO.Summary, have: dict[str, bool], slow_days: int, lead_time_days: int) -> list[Card]:
    """Sell-through (SKUs sold in its place without stock levels), turnover, slow movers,
    stock-out risk, gross margin; a figure the shop cannot give is n/a with the reason."""
    gone = not_available(have)

    def card(key: str, label: str, value_text: str, note: str) -> Card:
        # keyed by its results.json figure: the index prints the card's words (zh in zh)
        if key in gone:
            return Card(label, fmt(None), gone[key], key=key)
        return Card(label, value_text, note, key=key)

    out = [
        card(
            "sell_through_rate",
            w("card.sell_through.label"),
            fmt(s.sell_through_rate, "pct"),
            w(
                "card.sell_through.note",
                sold=fmt(s.sold_on_sale, "count"),
                on_sale=fmt(s.skus_on_sale, "count"),
            ),
        ),
        card(
            "inventory_turnover",
            w("card.turnover.label"),
            w("card.turnover.value", turns=fmt(s.inventory_turnover, "ratio")),
            w("card.turnover.note", days=fmt(s.inventory_days, "count")),
        ),
        card(
            "slow_movers",
            w("card.slow_movers.label"),
            fmt(s.slow_movers, "count"),
            w("card.slow_movers.note", days=slow_days),
        ),
        card(
            "stockout_risk_skus",
            w("card.stockout.label"),
            fmt(s.stockout_risk_skus, "count"),
            w("card.stockout.note", days=slow_days, lead=lead_time_days),
        ),
        card(
            "gross_margin",
            w("card.margin.label"),
            fmt(s.gross_margin, "pct"),
            w("card.margin.note"),
        ),
    ]
    if "sell_through_rate" in gone:
        out.insert(
            1,
            Card(
                w("card.skus_sold.label"),
                fmt(s.skus_sold, "count"),
                w("card.skus_sold.note", count=fmt(s.skus_in_catalogue, "count")),
                key="skus_sold",
            ),
        )
    return out


def index_extras(s: PO.Summary) -> dict[str, Card]:
    """Headline figures of the index without a card of their own, as a card would word them."""
    return {"skus_sold": Card(w("card.skus_sold.label"), fmt(s.skus_sold, "count"))}


def findings(
    s: PO.Summary,
    have: dict[str, bool],
    counts: dict[str, int],
    slow_days: int,
    lead_time_days: int,
) -> list[str]:
    """What happened (sell-through) → what drove it (revenue concentration, slow movers) → what
    it means (SKUs to restock first, stock turns); then which measures are n/a and why.
    ``counts``: SKUs per action."""
    gone = PO.unavailable(have)
    if "sell_through_rate" in gone:
        out = [
            w(
                "finding.skus_sold",
                sold=fmt(s.skus_sold, "count"),
                count=fmt(s.skus_in_catalogue, "count"),
            )
        ]
    else:
        out = [
            w(
                "finding.sell_through",
                rate=fmt(s.sell_through_rate, "pct"),
                sold=fmt(s.sold_on_sale, "count"),
                on_sale=fmt(s.skus_on_sale, "count"),
            )
        ]
    out.append(
        w(
            "finding.abc",
            a=fmt(s.a_skus, "count"),
            share=fmt(s.a_skus / max(s.skus_in_catalogue, 1), "pct"),
        )
    )
    if "slow_movers" not in gone:
        if "gross_margin" in gone:
            out.append(w("finding.slow_no_cost", slow=fmt(s.slow_movers, "count"), days=slow_days))
        else:
            text = w(
                "finding.slow",
                slow=fmt(s.slow_movers, "count"),
                days=slow_days,
                clear=fmt(counts.get("clear (promotion / live stream)", 0), "count"),
                delist=fmt(counts.get("delist", 0), "count"),
            )
            if counts.get("clear or delist", 0):
                manual = fmt(counts["clear or delist"], "count")
                text += w("sentence_sep") + w("finding.slow_manual", manual=manual)
            out.append(text)
        if s.stockout_risk_skus:
            risk = fmt(s.stockout_risk_skus, "count")
            out.append(w("finding.risk", risk=risk, days=slow_days, lead=lead_time_days))
        else:
            out.append(w("finding.no_risk", days=slow_days, lead=lead_time_days))
    if "inventory_turnover" not in gone:
        out.append(
            w(
                "finding.turnover",
                turns=fmt(s.inventory_turnover, "ratio"),
                days=fmt(s.inventory_days, "count"),
            )
        )
    by_reason: dict[str, list[str]] = {}
    for k, lacking in gone.items():
        if k in MEASURES:  # SKUs on sale and days of stock go with their headline figure
            by_reason.setdefault(reason(lacking), []).append(w(f"measure.{k}"))
    for why, names in by_reason.items():
        out.append(w("finding.not_available", names=w("measure.list_sep").join(names), reason=why))
    return out


# --- what to do ------------------------------------------------------------------------------


def _sku_list(group: PO.ActionGroup) -> str:
    """The first :data:`SKUS_NAMED` SKUs of an action (restock: with days of supply), how many
    more, and where they are: all in the SKU table below, or (more than :data:`SKUS_LISTED`) how
    many of them it lists, so the count agrees with what the table shows."""
    rows = group.skus.head(SKUS_NAMED)
    if group.action == "restock":
        names = [
            w("action.restock_sku_out", sku=r.sku)
            if r.on_hand <= 0
            else w("action.restock_sku", sku=r.sku, days=days(r.days_of_supply))
            for r in rows.itertuples()
        ]
    else:
        names = [str(s) for s in rows["sku"]]
    text = w("sku_sep").join(names)
    more = group.count - len(rows)
    if more <= 0:
        return text
    if group.count <= SKUS_LISTED:
        return w("action.more", skus=text, more=fmt(more, "count"))
    return w(
        "action.more_capped",
        skus=text,
        more=fmt(more, "count"),
        cap=fmt(SKUS_LISTED, "count"),
        count=fmt(group.count, "count"),
    )


def actions(
    plan: list[PO.ActionGroup],
    slow_days: int,
    lead_time_days: int,
    median_margin: float,
    have: dict[str, bool] | None = None,
) -> tuple[list[Action], str]:
    """One action per rule that picked SKUs, most urgent first (restock first), naming the SKUs,
    with the rule beside it; or why there is none (a shop without stock levels cannot tell that
    no SKU needs restocking: the reason says the rules that need them did not apply)."""
    out = [
        Action(
            w(f"action.{g.action}", count=fmt(g.count, "count"), skus=_sku_list(g)),
            rule(g.action, slow_days, lead_time_days, median_margin),
        )
        for g in plan
    ]
    if out:
        return out, ""
    partial = any(PO.missing_inputs(PO.RULE_NEEDS.get(a, ()), have or {}) for a in PO.ACTIONS)
    return out, w("action.none_partial" if partial else "action.none")


def _finite(v) -> bool:
    return bool(pd.notna(v) and abs(v) != float("inf"))


def days(v: float) -> str:
    """Days of supply as a reader counts them: one decimal at most (``6.7``, ``150``), never the
    raw ``6.67`` or ``150.00``."""
    if missing(v):
        return fmt(None)
    return B.format_decimal(round(float(v), 1), "#,##0.#", locale=LOCALES[lang_of(None)])


def supply(v: float, slow_days: int) -> str:
    """A SKU's days of supply in the SKU table: words where a number misleads (out of stock; no
    sale in the window, so it never runs out), n/a without a stock level."""
    if missing(v):
        return fmt(None)
    if v <= 0:
        return w("action.out_of_stock")
    if v == float("inf"):
        return w("action.no_recent_sale", days=slow_days)
    return days(v)


# --- detail and method -----------------------------------------------------------------------


def rules_table(
    have: dict[str, bool],
    counts: dict[str, int],
    slow_days: int,
    lead_time_days: int,
    median_margin: float,
) -> pd.DataFrame:
    """The rules in the order they apply: action, rule, SKUs it picked, and why it cannot apply
    with the shop's inputs ('' when it can). "Clear or delist" (by hand) is shown without a cost
    or when it picked a SKU (a class A or B slow mover below the median margin, or a SKU without
    a cost): every SKU the report counts is in one row, so the rows add up to the SKUs."""
    rows = []
    for a in PO.ACTIONS:
        if a == "clear or delist" and have.get("cost", True) and not counts.get(a, 0):
            continue  # costs known and no SKU left undecided: the margin decided every one
        missing = PO.missing_inputs(PO.RULE_NEEDS.get(a, ()), have)
        rows.append(
            {
                "action": action_label(a),
                "rule": rule(a, slow_days, lead_time_days, median_margin),
                "skus": counts.get(a, 0),
                "not_applied": reason(missing) if missing else "",
            }
        )
    return pd.DataFrame(rows)


def skus_lead(plan: list[PO.ActionGroup], cap: int, slow_days: int) -> str:
    """The sentence over the SKU list, what it leaves out, and why days of supply can be n/a."""
    total = sum(g.count for g in plan)
    text = w("section.skus.lead", count=fmt(total, "count"), cap=cap)
    text += w("sentence_sep") + w("section.skus.price_position")
    if any(g.skus["days_of_supply"].isna().any() for g in plan):
        text += w("sentence_sep") + w("section.skus.no_supply")
    rest = [
        w("section.skus.more_item", more=fmt(g.count - cap, "count"), action=action_label(g.action))
        for g in plan
        if g.count > cap
    ]
    if rest:
        text += w("sentence_sep") + w("section.skus.more", rest=w("sku_sep").join(rest))
    return text


def method_notes(
    s: PO.Summary, have: dict[str, bool], slow_days: int, lead_time_days: int
) -> list[str]:
    """Method and caveats: the definitions, the median margin that splits clear from delist, the
    rules the shop's inputs cannot apply and why."""
    out = [
        w("method.on_sale"),
        w("method.turnover", days=slow_days),
        w("method.slow", days=slow_days, lead=lead_time_days),
        w("method.margin", median=fmt(s.median_margin, "pct")),
        w("method.negative"),
    ]
    by_reason: dict[str, list[str]] = {}
    for a in PO.ACTIONS:
        missing = PO.missing_inputs(PO.RULE_NEEDS.get(a, ()), have)
        if missing and not (a == "clear or delist" and have.get("cost", True)):
            by_reason.setdefault(reason(missing), []).append(action_label(a))
    for why, names in by_reason.items():
        out.append(w("method.not_applied", rules=w("sku_sep").join(names), reason=why))
    out.append(w("method.no_comparison"))
    return out
