"""CDNOW 1998 in Chinese said each driver must "提升" (rise) by −23.0% beside a card asking for
+73.8% on the baseline: the −23.0% was each driver's level against the last twelve months, where
the forecast itself is far below. With a baseline well below last year and a target above the
baseline but below last year, the actions' rises are positive and every change against the last
twelve months says its direction and its base in words, in English and Chinese."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from analysis_lib.analyses import target_setting as T
from analysis_lib.present.context import use
from analysis_lib.present.narrative import target_setting as N
from tests.test_narrative_target_setting import _plan

LAST_YEAR = 2_000_000.0  # the last twelve months of _plan are CN¥600,000: scale the tree to CDNOW


def _cdnow_like() -> T.TargetPlan:
    """Last twelve months CN¥2.0M, baseline median CN¥700,000 (−65%), target CN¥1.2M: +71.4% on
    the baseline, −40.0% on last year; two drivers (orders × AOV) as CDNOW has no visits."""
    p = _plan(target=1_200_000.0, ytd=None)
    f = p.feasibility
    feas = T.Feasibility(
        target=f.target,
        baseline=700_000.0,
        mean=800_000.0,
        ci_low=300_000.0,
        ci_high=2_500_000.0,
        level=0.8,
        p_reach=0.2,
        n_sims=2000,
    )
    factor = f.target / LAST_YEAR
    drivers = (
        T.Driver("orders", 80_000.0, 80_000.0 * factor),
        T.Driver("aov", 25.0, 25.0 * factor),
    )
    tree = replace(p.tree, base_gmv=LAST_YEAR, baseline=700_000.0, drivers=drivers)
    return replace(p, feasibility=feas, tree=tree)


RISE = {"en": r"(?:lift|Lift)[^:]*? by ([−+][\d.]+%)", "zh": r"提升 ([−+][\d.]+%)"}
WORDS = {
    "en": ("{x} below the last twelve months", "{x} below them"),
    "zh": ("比最近十二个月（驱动树的基数）低 {x}", "比最近十二个月低 {x}"),
}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_rises_are_positive_and_changes_on_last_year_say_so(lang):
    p = _cdnow_like()
    tree = p.tree
    assert tree.baseline_change < tree.uplift_on_base < 0 < tree.gap  # the CDNOW shape
    assert tree.shared_on_base() < 0 < tree.spread()
    with use(lang=lang, currency="CNY"):
        spread, alone = (a.text for a in N.actions(p))
        cards = N.cards(p, "")
        # what the actions ask to rise is what the card asks for, and positive
        uplift = N.fmt(p.feasibility.required_uplift, "signed_pct")
        assert uplift in [c.value for c in cards]
        rises = re.findall(RISE[lang], spread) + re.findall(RISE[lang], alone)
        assert rises == [N.fmt(tree.spread(), "signed_pct"), uplift]
        assert all(r.startswith("+") for r in rises)
        # no bare negative figure in an action: a fall says "below" and against what
        for text in (spread, alone):
            assert not re.search(r"−\d", text), text
        each, base = WORDS[lang]
        assert each.format(x=N.fmt(-tree.shared_on_base(), "pct")) in spread
        baseline = N.fmt(-tree.baseline_change, "pct")
        assert base.format(x=baseline) in spread
        # the single-driver change on last year is the target card's change, as a fall
        on_base = N.fmt(-tree.uplift_on_base, "pct")
        assert N.fmt(tree.uplift_on_base, "signed_pct") in " ".join(c.change for c in cards)
        said = (
            f"{on_base} below the last twelve months"
            if lang == "en"
            else f"比最近十二个月低 {on_base}"
        )
        assert said in alone
