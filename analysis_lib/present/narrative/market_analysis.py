"""The words of the market analysis report, generated from its typed results
(:class:`~analysis_lib.analyses.market.MarketSummary`, :class:`~analysis_lib.analyses.market.CategoryMatrix`,
:class:`~analysis_lib.analyses.market.ShareLoss`): cards, findings, actions, section leads and
method notes. Each sentence is written once, from ``catalog/market_analysis.yaml``, and every
figure goes through :func:`analysis_lib.present.numbers.fmt`, so a figure reads the same in a card,
a finding and a table.

Bases stated in the report: market size and our share over the analysed months; growth, share
change and rank change against the same months a year earlier; a change of share in percentage
points. Money on cards and in findings is compact (``¥185.0万``), full digits in tables.
"""

from __future__ import annotations

from analysis_lib.analyses.market import CategoryMatrix, MarketSummary, Persona, ShareLoss
from analysis_lib.present.blocks import Action, Card, direction_of, tone_of
from analysis_lib.present.numbers import fmt
from analysis_lib.present.words import has, spaced, t, value

NS = "market_analysis"


def w(key: str, /, **values) -> str:
    """A text of this report's catalog."""
    return spaced(t(f"{NS}.{key}", **values))


def data_value(kind: str, raw) -> str:
    """A value from the data (gender, city tier, age band, region) in the report's language:
    this report's words for it, else the shared ``values.<kind>`` of the catalog (regions of the
    sample shop and common ones); one neither knows is shown as written."""
    key = f"{NS}.value.{kind}.{raw}"
    return t(key) if has(key) else value(kind, raw)


def cat(category) -> str:
    """A category in the report's language (``values.category``), else as the data writes it."""
    return value("category", category)


def listing(items) -> str:
    """Items joined as the language lists them (``a, b`` / ``a、b``)."""
    return w("sep").join(map(str, items))


def months_text(months: tuple[str, ...] | list[str]) -> str:
    return w("months", first=months[0], last=months[-1])


def compared_text(s: MarketSummary) -> str:
    """The comparison of the title line."""
    if s.market_growth_yoy is None:
        return w("no_compared")
    first, last = (f"{int(m[:4]) - 1}{m[4:]}" for m in (s.months[0], s.months[-1]))
    return w("compared", first=first, last=last)


def rank_text(rank: int | None) -> str:
    return fmt(None) if rank is None else w("rank", rank=rank)


def hhi_level(hhi: float) -> str:
    """US merger guidelines: above 2,500 highly concentrated, 1,500-2,500 moderately."""
    return w("level.high" if hhi > 2500 else "level.moderate" if hhi >= 1500 else "level.low")


# --- cards ------------------------------------------------------------------------------------


def cards(s: MarketSummary) -> list[Card]:
    """Market size (change: growth YoY), our share (change in pp), our rank (change against a year
    earlier; a lower rank is better), concentration."""
    growth = s.market_growth_yoy
    size = Card(
        w("card.market_size"),
        fmt(s.market_size, "money_compact"),
        w("card.size_note", months=months_text(s.months), brands=s.brands),
        w("card.vs_year_earlier", change=fmt(growth, "signed_pct")) if growth is not None else "",
        direction_of(growth),
        tone_of(growth, True),
        key="market_size",
    )
    ch = s.share_change
    share = Card(
        w("card.our_share"),
        fmt(s.our_share, "pct"),
        w("card.share_note", brand=s.our_brand, sales=fmt(s.our_sales, "money_compact")),
        w("card.vs_year_earlier", change=fmt(ch, "pp")) if ch is not None else "",
        direction_of(ch),
        tone_of(ch, True),
        key="our_share",
    )
    moved = (
        None if s.our_rank is None or s.our_rank_prev is None else s.our_rank_prev - s.our_rank
    )  # positive: climbed
    rank = Card(
        w("card.our_rank"),
        rank_text(s.our_rank),
        w("card.rank_note", brands=s.brands),
        w("card.rank_change", rank=rank_text(s.our_rank_prev)) if moved is not None else "",
        direction_of(moved),
        tone_of(moved, True),
        key="our_rank",
    )
    hhi = Card(
        w("card.hhi"),
        fmt(s.hhi, "count"),
        w(
            "card.hhi_note",
            level=hhi_level(s.hhi),
            cr3=fmt(s.cr3, "pct"),
            cr5=fmt(s.cr5, "pct"),
        ),
        key="hhi",
    )
    return [size, share, rank, hhi]


def index_extras(s: MarketSummary) -> dict[str, Card]:
    """Headline figures of the index that have no card of their own, as the cards word them."""
    return {
        "market_growth_yoy": Card(
            w("card.market_growth_yoy"), fmt(s.market_growth_yoy, "signed_pct")
        ),
        "cr3": Card(w("card.cr3"), fmt(s.cr3, "pct")),
    }


# --- findings ---------------------------------------------------------------------------------


def findings(s: MarketSummary, m: CategoryMatrix, losses: list[ShareLoss]) -> list[str]:
    """What happened (market, our share and rank) → what drove it (categories behind the growth,
    where our share moved) → what it means (concentration, opportunities, share to win back)."""
    months = months_text(s.months)
    size = fmt(s.market_size, "money_compact")
    g = s.market_growth_yoy
    out = [
        w("finding.market", size=size, months=months, growth=fmt(g, "signed_pct"))
        if g is not None
        else w("finding.market_no_prev", size=size, months=months)
    ]
    common = {
        "brand": s.our_brand,
        "share": fmt(s.our_share, "pct"),
        "rank": rank_text(s.our_rank),
        "brands": s.brands,
    }
    ch = s.share_change
    out.append(
        w("finding.share", change=fmt(ch, "pp"), **common)
        if ch is not None
        else w("finding.share_no_prev", **common)
    )
    t_ = m.table
    if g is not None and t_["growth_contribution"].notna().all() and len(t_):
        top = t_.sort_values("growth_contribution", ascending=False).iloc[0]
        if top.growth_contribution > 0:
            out.append(
                w(
                    "finding.driver",
                    category=cat(top.category),
                    contribution=fmt(top.growth_contribution, "pp"),
                    growth=fmt(g, "signed_pct"),
                )
            )
        low = t_.sort_values("growth_yoy").iloc[0]
        if low.growth_yoy < 0:
            out.append(
                w(
                    "finding.shrank",
                    category=cat(low.category),
                    growth=fmt(low.growth_yoy, "signed_pct"),
                )
            )
    moves = t_.dropna(subset=["share_change"]).sort_values("share_change")
    if len(moves):
        up, down = moves.iloc[-1], moves.iloc[0]
        if down.share_change < 0 and up.share_change > 0:
            out.append(
                w(
                    "finding.share_moves",
                    up=cat(up.category),
                    up_change=fmt(up.share_change, "pp"),
                    down=cat(down.category),
                    down_change=fmt(down.share_change, "pp"),
                )
            )
        elif down.share_change > 0:
            out.append(
                w(
                    "finding.share_up_only",
                    up=cat(up.category),
                    up_change=fmt(up.share_change, "pp"),
                )
            )
    out.append(
        w(
            "finding.concentration",
            cr3=fmt(s.cr3, "pct"),
            cr5=fmt(s.cr5, "pct"),
            hhi=fmt(s.hhi, "count"),
            level=hhi_level(s.hhi),
        )
    )
    if losses:
        out.append(
            w(
                "finding.win_back",
                n=len(losses),
                category=cat(losses[0].category),
                stake=fmt(losses[0].sales_at_stake, "money_compact"),
            )
        )
    opp = m.of("opportunity")
    if len(opp):
        top = opp.iloc[0]
        out.append(
            w(
                "finding.opportunity",
                category=cat(top.category),
                growth=fmt(top.growth_yoy, "signed_pct"),
                share=fmt(top.our_share, "pct"),
            )
        )
    stars = m.of("star")
    if len(stars):
        out.append(w("finding.stars", categories=listing(map(cat, stars.category))))
    return out


# --- what to do -------------------------------------------------------------------------------


def actions(s: MarketSummary, m: CategoryMatrix, losses: list[ShareLoss]) -> list[Action]:
    """Share to win back (market growing, our share falling; most sales at stake first), then
    categories to grow in (the opportunity quadrant; fastest growing first)."""
    out = [
        Action(
            w(
                "action.win_back",
                category=cat(x.category),
                growth=fmt(x.growth_yoy, "signed_pct"),
                change=fmt(-x.share_change, "pp").lstrip("+"),  # "fell by 5.0 pp"
                share=fmt(x.our_share, "pct"),
                stake=fmt(x.sales_at_stake, "money_compact"),
            ),
            w("action.win_back_rule"),
        )
        for x in losses
    ]
    for r in m.of("opportunity").itertuples():
        out.append(
            Action(
                w(
                    "action.grow",
                    category=cat(r.category),
                    growth=fmt(r.growth_yoy, "signed_pct"),
                    market_growth=fmt(m.growth_split, "signed_pct"),
                    share=fmt(r.our_share, "pct"),
                    our_share=fmt(m.share_split, "pct"),
                ),
                w("action.grow_rule"),
            )
        )
    return out


def no_action_reason(s: MarketSummary) -> str:
    return w("action.none" if s.market_growth_yoy is not None else "action.none_no_prev")


# --- sections ---------------------------------------------------------------------------------


def trend_lead(s: MarketSummary) -> str:
    months = months_text(s.months)
    return w(
        "section.trend_lead" if s.market_growth_yoy is not None else "section.trend_lead_no_prev",
        months=months,
    )


def trend_alt(s: MarketSummary, window) -> str:
    """``window``: the analysed months of :func:`analysis_lib.analyses.market.by_period`."""
    first, last = window.iloc[0], window.iloc[-1]
    return w(
        "chart.trend_alt",
        months=months_text(s.months),
        size_first=fmt(first.market_size, "money_compact"),
        size_last=fmt(last.market_size, "money_compact"),
        share_first=fmt(first.our_share, "pct"),
        share_last=fmt(last.our_share, "pct"),
        ranks=ranks_text(window.our_rank),
    )


def ranks_text(ranks) -> str:
    """Our rank over the months of a chart: the same rank every month says it stays (never
    "from #1 to #1"); back at its first rank by the last month says so with the range between;
    else from the first to the last. A month without a rank is left out."""
    known = [int(v) for v in ranks if v == v and v is not None]
    if not known:
        return fmt(None)
    first, last = known[0], known[-1]
    if min(known) == max(known):
        return w("chart.ranks_stayed", rank=rank_text(first))
    if first == last:
        return w(
            "chart.ranks_returned",
            rank=rank_text(first),
            best=rank_text(min(known)),
            worst=rank_text(max(known)),
        )
    return w("chart.ranks_moved", first=rank_text(first), last=rank_text(last))


def matrix_lead(m: CategoryMatrix) -> str:
    return w(
        "section.matrix_lead",
        growth=fmt(m.growth_split, "signed_pct"),
        share=fmt(m.share_split, "pct"),
    )


def matrix_alt(m: CategoryMatrix) -> str:
    opp = m.of("opportunity")
    return w(
        "chart.matrix_alt",
        n=len(m.table),
        growth=fmt(m.growth_split, "signed_pct"),
        share=fmt(m.share_split, "pct"),
        opportunities=listing(map(cat, opp.category)) if len(opp) else w("chart.none"),
    )


def band_text(low: float, high: float) -> str:
    return f"{fmt(low, 'money')} – {fmt(high, 'money')}"


def bands_lead(bands) -> str:
    best = bands.sort_values("our_share", ascending=False).iloc[0]
    return w(
        "section.bands_lead",
        n=len(bands),
        band=band_text(best.band_low, best.band_high),
        share=fmt(best.our_share, "pct"),
    )


def persona_lead(p: Persona) -> str:
    """How many buyers, the high-value segment's part of GMV; and the guest checkouts left out
    (a guest is not a known buyer), with their count and shares, when the orders mark any."""
    lead = w(
        "section.persona_lead",
        buyers=fmt(p.buyers, "count"),
        top=fmt(p.high_value_share, "pct"),
        spend_share=fmt(p.high_value_spend_share, "pct"),
        avg_top=fmt(p.avg_spend_high_value, "money"),
        avg_all=fmt(p.avg_spend_all, "money"),
    )
    g = p.guests
    if g is None or not g.orders:
        return lead
    guests = w(
        "section.persona_guests",
        count=fmt(g.orders, "count"),
        order_share=fmt(g.order_share, "pct"),
        gmv_share=fmt(g.gmv_share, "pct"),
    )
    return w("section.persona_lead_guests", lead=lead, guests=guests)


# --- method -----------------------------------------------------------------------------------


def method_notes(s: MarketSummary, persona: Persona | None, with_bands: bool) -> list[str]:
    notes = [w("method.definitions", brands=s.brands), w("method.hhi"), w("method.matrix")]
    if with_bands:
        notes.append(w("method.bands"))
    if persona is not None:
        notes.append(w("method.persona", top=fmt(persona.high_value_share, "pct")))
    notes.append(w("method.categories"))
    return notes
