"""The sections of the market analysis report, each one call from the notebook: the summary
(title line, figures recorded for results.json and the index, cards, findings, what to do), the
monthly trend, the category matrix, price bands, the buyer persona and the method notes. Words come
from :mod:`analysis_lib.present.narrative.market_analysis`; numbers keep their type in the tables
and go through the one formatter."""

from __future__ import annotations

import pandas as pd

from analysis_lib.analyses.market import MarketAnalysis
from analysis_lib.present import blocks
from analysis_lib.present.charts import market as market_charts
from analysis_lib.present.narrative import market_analysis as N
from analysis_lib.present.tables import table

HEADLINE = ["market_size", "market_growth_yoy", "our_share", "our_rank", "hhi", "cr3"]


def figures(r: MarketAnalysis) -> dict:
    """The run's figures for results.json: each computed once, in :mod:`analyses.market`; with
    ``persona_guest_orders`` (count, GMV and their shares) when the orders mark guests."""
    s = r.summary
    out = {
        "market_size": s.market_size,
        "market_growth_yoy": s.market_growth_yoy,
        "our_share": s.our_share,
        "our_rank": s.our_rank,
        "hhi": s.hhi,
        "cr3": s.cr3,
        "cr5": s.cr5,
        "opportunities": r.matrix.of("opportunity").sort_index()["category"].tolist(),
        "our_share_prev": s.our_share_prev,
        "our_rank_prev": s.our_rank_prev,
        "win_back": [x.category for x in r.losses],
    }
    if r.persona is not None and r.persona.guests is not None:
        # only for a shop whose orders mark guests (as customer value's guest_orders): the guest
        # checkouts left out of the buyer persona
        out["persona_guest_orders"] = r.persona.guests._asdict()
    return out


def summary(run, r: MarketAnalysis) -> None:
    """Title line, the recorded figures, cards and findings, then what to do."""
    s = r.summary
    cards = N.cards(s)
    blocks.record_figures(figures(r), headline=HEADLINE, shown=N.index_extras(s))
    blocks.show(
        blocks.title_block(
            run.P.title_text, N.months_text(s.months), N.compared_text(s), run.last_day
        ),
        blocks.summary_block(cards, N.findings(s, r.matrix, r.losses)),
        blocks.actions_block(N.actions(s, r.matrix, r.losses), N.no_action_reason(s)),
    )


def trend(r: MarketAnalysis) -> None:
    """Market size, our share and rank by month against a year earlier; the monthly table."""
    window, earlier = r.trend_window()
    blocks.show(blocks.section(N.w("section.trend"), N.trend_lead(r.summary)))
    blocks.figure(market_charts.market_trend(window, earlier), N.trend_alt(r.summary, window))
    shown = window.assign(
        our_rank=[N.rank_text(None if pd.isna(v) else int(v)) for v in window.our_rank]
    )
    cols = ["period", "market_size", "mom", "yoy", "our_sales", "our_share", "our_rank"]
    blocks.show(
        table(
            shown[cols],
            {
                "market_size": "money",
                "mom": "signed_pct",
                "yoy": "signed_pct",
                "our_sales": "money",
                "our_share": "pct",
            },
            {c: N.w(f"column.{'month' if c == 'period' else c}") for c in cols},
        )
    )


def matrix(r: MarketAnalysis) -> None:
    """The growth x share matrix: chart and table."""
    m = r.matrix
    blocks.show(blocks.section(N.w("section.matrix"), N.matrix_lead(m)))
    blocks.figure(
        market_charts.growth_share(m.table, m.growth_split, m.share_split), N.matrix_alt(m)
    )
    cols = [
        "category",
        "market_size",
        "growth_yoy",
        "growth_contribution",
        "our_share",
        "our_share_prev",
        "share_change",
        "quadrant",
    ]
    shown = m.table.assign(
        category=[N.cat(c) for c in m.table.category],
        quadrant=[N.w(f"quadrant.{q}") for q in m.table.quadrant],
    )
    blocks.show(
        table(
            shown[cols],
            {
                "market_size": "money",
                "growth_yoy": "signed_pct",
                "growth_contribution": "pp",
                "our_share": "pct",
                "our_share_prev": "pct",
                "share_change": "pp",
            },
            {c: N.w(f"column.{c}") for c in cols},
            colors={"share_change": ("RdYlGn", 0.0)},  # gains green, losses red
        )
    )


def price_bands(r: MarketAnalysis) -> None:
    """Market size and our share per price band (nothing without a units column)."""
    b = r.bands
    if b.empty:
        return
    shown = pd.DataFrame(
        {"band": [N.band_text(lo, hi) for lo, hi in zip(b.band_low, b.band_high, strict=True)]}
    )
    shown = pd.concat([shown, b[["market_size", "our_sales", "our_share"]]], axis=1)
    blocks.show(
        blocks.section(N.w("section.bands"), N.bands_lead(b)),
        table(
            shown,
            {"market_size": "money", "our_sales": "money", "our_share": "pct"},
            {c: N.w(f"column.{c}") for c in shown.columns},
        ),
    )


def persona(r: MarketAnalysis) -> None:
    """Who buys from us: one table per dimension (share among all and high-value buyers)."""
    p = r.persona
    if p is None:
        return
    parts = [blocks.section(N.w("section.persona"), N.persona_lead(p))]
    for dim, t_ in p.dims.items():
        shown = t_.assign(value=[N.data_value(dim, v) for v in t_["value"]])
        labels = {c: N.w(f"column.{c}") for c in shown.columns} | {"value": N.w(f"dim.{dim}")}
        parts.append(
            table(shown, {"all_buyers": "pct", "high_value": "pct", "index": "count"}, labels)
        )
    blocks.show(*parts)


def method(r: MarketAnalysis) -> None:
    blocks.show(blocks.method_block(N.method_notes(r.summary, r.persona, not r.bands.empty)))
