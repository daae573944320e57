"""The words of the target setting report, generated from its typed results
(:class:`~analysis_lib.analyses.target_setting.TargetPlan`: the forecast's
:class:`~analysis_lib.analyses.target_setting.Feasibility` and the
:class:`~analysis_lib.analyses.target_setting.DriverTree`): cards, findings, actions, section
leads and method notes, each sentence once, from ``catalog/target_setting.yaml``.

Bases stated in the report, and why:

- the baseline forecast of the year is the **median** of the simulated years, said on its card;
  the mean of a skewed forecast sits above it, and a card "baseline above the target" beside
  "P(reach target) 28%" reads as a contradiction (it was one: the mean was shown, unstated);
- the uplift needed is against that median; P(reach target) is from the same simulated years;
- the driver tree starts from the last twelve months, and the finding ties the two bases together:
  (1 + change on the last twelve months) = (1 + what the forecast carries) x (1 + the gap);
  the actions give each driver's change beyond the forecast *and* on the tree's base, with the
  levels the tree's table shows, so the two never read as two plans;
- when the target year has complete months in the data, the year so far: actual against the
  target and the forecast over the same months, and what the rest of the year needs.

A range is written in one kind of money (:func:`money_range`): ``$241,161 – $2,551,234``, never
``$241,161 – $2.55M``.

Money on cards and in findings is compact (``¥87.5万``, ``CN¥1.2M``), in tables full digits.
"""

from __future__ import annotations

import math

from analysis_lib.analyses.target_setting import DriverTree, TargetPlan
from analysis_lib.core import metrics as M
from analysis_lib.present.blocks import Action, Card, direction_of, tone_of
from analysis_lib.present.context import settings
from analysis_lib.present.numbers import fmt
from analysis_lib.present.words import label, spaced, t

NS = "target_setting"
DRIVER_KIND = {
    "uv": "count",
    "orders": "count",
    "conversion_rate": "pct",
    "orders_per_buyer": "ratio",
    "aov": "money",
}


def w(key: str, /, **values) -> str:
    """A text of this report's catalog."""
    return spaced(t(f"{NS}.{key}", **values))


def money(v: float) -> str:
    """Money on cards and in findings (one format, so a card and a finding read the same)."""
    return fmt(v, "money_compact")


def money_range(low: float, high: float) -> str:
    """An interval in one kind of money: compact at both ends when both are (``¥51.9万 –
    ¥158.1万``), full digits at both ends otherwise (``$241,161 – $2,551,234``)."""
    a, b = money(low), money(high)
    if (a == fmt(low, "money")) != (b == fmt(high, "money")):
        a, b = fmt(low, "money"), fmt(high, "money")
    return f"{a} – {b}"


def then(first: str, second: str) -> str:
    """Two sentences as one paragraph: a space between them in English, none in Chinese."""
    return first + ("" if settings().lang == "zh" else " ") + second


def signed_money(v: float) -> str:
    """A difference of money in the card and finding format, with its sign."""
    return ("+" if v > 0 else "") + money(v)


def listing(items) -> str:
    """Items joined as the language lists them (``a, b`` / ``a、b``)."""
    return w("sep").join(map(str, items))


def level_text(level: float) -> str:
    return fmt(level, "pct").replace(".0%", "%")


def factor_text(f: float) -> str:
    """A growth factor as a plain number (``2.04``): the sentence says they are factors."""
    return fmt(f, "ratio")


def month(ts) -> str:
    return ts.strftime("%Y-%m")


def base_text(tree: DriverTree) -> str:
    """The driver tree's base, with its months."""
    kw = {"start": month(tree.base_start), "end": month(tree.base_end)}
    if tree.base_months >= 12:
        return w("base_months", **kw)
    return w("base_months_short", n=tree.base_months, **kw)


def tree_text(tree: DriverTree) -> str:
    return w("tree.with_uv" if any(d.key == "uv" for d in tree.drivers) else "tree.orders")


def driver_value(key: str, v: float) -> str:
    return fmt(v, DRIVER_KIND[key])


def period_line(p: TargetPlan) -> str:
    h = p.history.index
    return w("period_line", year=p.year, start=month(h[0]), end=month(h[-1]))


def compared_text(p: TargetPlan) -> str:
    return w("compared", start=month(p.tree.base_start), end=month(p.tree.base_end))


# --- cards ------------------------------------------------------------------------------------


def cards(p: TargetPlan, owner: str) -> list[Card]:
    """Target (change on the last twelve months), baseline median (its change on them, interval,
    mean), uplift needed on the baseline, P(reach target)."""
    f, tree = p.feasibility, p.tree
    return [
        Card(
            w("card.target", year=p.year),
            money(f.target),
            w("card.target_note", owner=owner) if owner else "",
            w("card.vs_base", change=fmt(tree.uplift_on_base, "signed_pct")),
            direction_of(tree.uplift_on_base),
            "neutral",
            key="target_total",
        ),
        Card(
            w("card.baseline"),
            money(f.baseline),
            w(
                "card.baseline_note",
                level=level_text(f.level),
                range=money_range(f.ci_low, f.ci_high),
                mean=money(f.mean),
            ),
            w("card.vs_base", change=fmt(tree.baseline_change, "signed_pct")),
            direction_of(tree.baseline_change),
            tone_of(tree.baseline_change, True),
            key="baseline_forecast_total",
        ),
        Card(
            w("card.uplift"),
            fmt(f.required_uplift, "signed_pct"),
            w("card.uplift_note", gap=signed_money(f.gap)),
            key="required_uplift",
        ),
        p_reach_card(p),
        *([ytd_card(p)] if p.ytd is not None else []),
    ]


def p_reach(p: TargetPlan) -> float:
    """P(reach target) as the card and results.json give it: with actuals of the target year,
    the actual so far plus the forecast of the remaining months; else the forecast's alone."""
    return p.ytd.p_reach if p.ytd is not None else p.feasibility.p_reach


def p_reach_card(p: TargetPlan) -> Card:
    """P(reach target); with the year so far, on its actual plus the forecast of the rest, its
    note giving the year's median end and the forecast-only figure it replaces."""
    f, y, v = p.feasibility, p.ytd, p_reach(p)
    if y is None:
        note = w("card.p_reach_note", n=fmt(f.n_sims, "count"))
    elif y.rest_months:
        note = w(
            "card.p_reach_ytd_note",
            span=ytd_span(p),
            months=y.rest_months,
            outlook=money(y.outlook),
            baseline=fmt(f.p_reach, "pct"),
        )
    else:
        note = w("card.p_reach_done_note", actual=money(y.actual))
    return Card(
        w("card.p_reach"),
        fmt(v, "pct"),
        note,
        tone="good" if v >= 0.5 else "bad",
        key="p_reach_target",
    )


def ytd_span(p: TargetPlan) -> str:
    y = p.ytd
    return w("ytd.span", start=month(y.start), end=month(y.end))


def ytd_card(p: TargetPlan) -> Card:
    """The year so far: actual GMV of its complete months against the target over them."""
    y = p.ytd
    return Card(
        w("card.ytd", span=ytd_span(p)),
        money(y.actual),
        w("card.ytd_note", target=money(y.target), forecast=money(y.forecast)),
        w("card.vs_target", change=fmt(y.vs_target, "signed_pct")),
        direction_of(y.vs_target),
        tone_of(y.vs_target, True),
        key="actual_to_date",
    )


# --- findings ---------------------------------------------------------------------------------


def findings(p: TargetPlan) -> list[str]:
    """What the baseline is (median, interval, change on the last twelve months) → why (the
    trend it extends; the skew) → what it means (the target against it; the two bases)."""
    f, tree, fc = p.feasibility, p.tree, p.forecast
    out = [
        w(
            "finding.baseline",
            year=p.year,
            baseline=money(f.baseline),
            level=level_text(f.level),
            range=money_range(f.ci_low, f.ci_high),
            change=fmt(tree.baseline_change, "signed_pct"),
            base=base_text(tree),
            base_gmv=money(tree.base_gmv),
        )
    ]
    if fc.trend_per_month is not None:
        extras = (w("finding.trend_seasonal") if p.seasonal else "") + (
            w("finding.trend_promo") if p.promo else ""
        )
        out.append(
            w(
                "finding.trend",
                slope=fmt(math.exp(fc.trend_per_month) - 1, "signed_pct"),
                extras=extras,
            )
        )
    if f.mean > f.baseline * 1.05:
        out.append(w("finding.skew", mean=money(f.mean)))
    out.append(
        w(
            "finding.above" if f.required_uplift > 0 else "finding.below",
            target=money(f.target),
            uplift=fmt(f.required_uplift, "signed_pct"),
            p=fmt(f.p_reach, "pct"),
        )
    )
    if p.ytd is not None:
        out.append(ytd_finding(p))
    out.append(
        w(
            "finding.tree",
            on_base=fmt(tree.uplift_on_base, "signed_pct"),
            baseline_change=fmt(tree.baseline_change, "signed_pct"),
            gap=fmt(tree.gap, "signed_pct"),
            f_on_base=factor_text(1 + tree.uplift_on_base),
            f_baseline=factor_text(1 + tree.baseline_change),
            f_gap=factor_text(1 + tree.gap),
        )
    )
    return out


def ytd_finding(p: TargetPlan) -> str:
    """How the year is tracking: actual to date against the target and the forecast to date, and
    what the rest of the year needs against the forecast of those months."""
    y = p.ytd
    text = w(
        "finding.ytd",
        span=ytd_span(p),
        actual=money(y.actual),
        share=fmt(y.share_of_year, "pct"),
        target=money(y.target),
        vs_target=fmt(y.vs_target, "signed_pct"),
        forecast=money(y.forecast),
        vs_forecast=fmt(y.vs_forecast, "signed_pct"),
        level=level_text(y.level),
        range=money_range(y.ci_low, y.ci_high),
    )
    if y.rest_months:
        text = then(
            text,
            w(
                "finding.ytd_rest",
                n=y.rest_months,
                rest=money(y.rest_target),
                forecast=money(y.rest_forecast),
            ),
        )
        text = then(
            text,
            w(
                "finding.ytd_outlook",
                outlook=money(y.outlook),
                level=level_text(y.level),
                range=money_range(y.outlook_lo, y.outlook_hi),
                p=fmt(y.p_reach, "pct"),
                baseline=fmt(p.feasibility.p_reach, "pct"),
            ),
        )
    return text


# --- what to do -------------------------------------------------------------------------------


def against(x: float) -> str:
    """A change against a base in words, the sign as a direction (``23.0% below`` / ``低 23.0%``):
    a figure after "lift ... by" reads as a rise, so a level below the base must say so."""
    return w("action.above" if x >= 0 else "action.below", x=fmt(abs(x), "pct"))


def actions(p: TargetPlan) -> list[Action]:
    """When the baseline median falls short (P(reach target) below 50%): the gap shared evenly by
    the drivers, then the gap on one driver alone. None otherwise (:func:`no_action_reason`)."""
    f, tree = p.feasibility, p.tree
    if f.p_reach >= 0.5 or f.required_uplift <= 0:
        return []
    names = [label(d.key) for d in tree.drivers]
    n = len(tree.drivers)
    gap, each = fmt(tree.gap, "signed_pct"), fmt(tree.spread(), "signed_pct")
    each_on_base = fmt(tree.shared_on_base(), "signed_pct")
    levels = listing(
        w("action.level", driver=label(d.key), level=driver_value(d.key, v))
        for d, v in zip(tree.drivers, tree.shared_levels(), strict=True)
    )
    return [
        Action(
            w(
                "action.spread",
                n=n,
                drivers=listing(names),
                each=each,
                gap=gap,
                money=money(f.gap),
                each_on_base=against(tree.shared_on_base()),
                levels=levels,
                baseline_change=against(tree.baseline_change),
            ),
            w(
                "action.spread_rule",
                gap=gap,
                tree=tree_text(tree),
                n=n,
                each=each,
                f_on_base=factor_text(1 + tree.uplift_on_base),
                each_on_base=each_on_base,
            ),
        ),
        Action(
            w(
                "action.alone",
                gap=gap,
                drivers=listing(names),
                on_base=against(tree.uplift_on_base),
            ),
            w("action.alone_rule"),
        ),
    ]


def no_action_reason(p: TargetPlan) -> str:
    f = p.feasibility
    return w(
        "action.none", baseline=money(f.baseline), target=money(f.target), p=fmt(f.p_reach, "pct")
    )


# --- sections ---------------------------------------------------------------------------------


def forecast_lead(p: TargetPlan) -> str:
    """What to see, how the months are split, and which months (if any) are outside the band."""
    sp, level = p.split, level_text(p.feasibility.level)
    text = w(
        "section.forecast_lead",
        level=level,
        target=money(p.target),
        q=fmt(sp.quantile, "pct"),
        p=fmt(1 - sp.quantile, "pct"),
    )
    if p.ytd is not None:
        text = then(text, w("section.forecast_actuals", span=ytd_span(p)))
    for key, months in (("above", sp.above_band), ("below", sp.below_band)):
        if months:
            text = then(
                text, w(f"section.band_{key}", months=listing(map(month, months)), level=level)
            )
    return text


def forecast_alt(p: TargetPlan) -> str:
    h, fc = p.history.index, p.forecast.table.index
    alt = w(
        "chart.forecast_alt",
        first=month(h[0]),
        last=month(h[-1]),
        end=month(fc[-1]),
        level=level_text(p.feasibility.level),
        baseline=money(p.feasibility.baseline),
        target=money(p.target),
    )
    return then(alt, w("chart.forecast_alt_actuals", span=ytd_span(p))) if p.ytd else alt


def drivers_title(p: TargetPlan) -> str:
    return w("section.drivers", tree=tree_text(p.tree))


def drivers_lead(p: TargetPlan) -> str:
    tree = p.tree
    return w(
        "section.drivers_lead",
        base=base_text(tree),
        base_gmv=money(tree.base_gmv),
        on_base=fmt(tree.uplift_on_base, "signed_pct"),
        each_on_base=fmt(tree.shared_on_base(), "signed_pct"),
        gap=fmt(tree.gap, "signed_pct"),
        each=fmt(tree.spread(), "signed_pct"),
    )


def drivers_alt(p: TargetPlan, keys: list[str]) -> str:
    h = p.history.index
    return w(
        "chart.drivers_alt",
        first=month(h[0]),
        last=month(h[-1]),
        drivers=listing(label(k) for k in keys),
    )


def targets_lead(p: TargetPlan, written: str | None) -> str:
    lead = w("section.targets_lead")
    return then(lead, w("section.targets_written", path=written)) if written else lead


def metric_label(key: str) -> str:
    return label(key) if key in M.METRICS else key


# --- method -----------------------------------------------------------------------------------


def method_notes(p: TargetPlan) -> list[str]:
    f, h = p.feasibility, p.history.index
    extras = (w("method.model_seasonal") if p.seasonal else "") + (
        w("method.model_promo") if p.promo else ""
    )
    has_uv = any(d.key == "uv" for d in p.tree.drivers)
    notes = [
        w("method.model", extras=extras, start=month(h[0]), end=month(h[-1])),
        w(
            "method.central",
            n=fmt(f.n_sims, "count"),
            mean=money(f.mean),
            level=level_text(f.level),
        ),
        w("method.tree" if has_uv else "method.tree_orders", base=base_text(p.tree)),
        w("method.allocation"),
    ]
    if p.ytd is not None:
        notes.append(w("method.actuals"))
    if len(h) < 24:
        notes.append(w("method.short_history", n=len(h)))
    return notes
