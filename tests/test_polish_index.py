"""The index row of a campaign retrospective gives each figure with the verdict its card gives
beside it: an ROI of +43.3% alone on the index read as a campaign that paid for itself while the
report says the data cannot tell (as the intervention impact's row does since issue 18)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from analysis_lib.present import blocks as B
from analysis_lib.present.context import use
from analysis_lib.present.reports import campaign_retro as RC
from tests.test_narrative_impact import PLACEBO_FAILED, retro


def _row(r, lang: str, monkeypatch) -> dict[str, str]:
    """What the index records for the report's summary: the ``shown`` payloads its blocks
    display, merged in order as the runner merges them (a later block replaces a card's)."""
    import IPython.display

    payloads: list[dict] = []

    def display(obj, raw=False):
        if raw and isinstance(obj, dict) and B.FIGURES_MIME in obj:
            payloads.append(obj[B.FIGURES_MIME])

    monkeypatch.setattr(IPython.display, "display", display)
    run = SimpleNamespace(P=SimpleNamespace(title_text="Double 11"), last_day=None)
    with use(lang=lang, currency="CNY"):
        RC.summary(run, r)
    shown: dict[str, dict] = {}
    for p in payloads:
        shown.update(p.get("shown", {}))
    return {k: v["text"] for k, v in shown.items()}


def test_campaign_index_gives_every_verdict(monkeypatch):
    r = retro()  # ROI interval across zero, post window across zero, net increment credible
    with use(lang="en", currency="CNY"):
        cards = {c.key: c for c in RC.cards(r)}
    row = _row(r, "en", monkeypatch)
    assert row["roi"] == f"{cards['roi'].value}; inconclusive: the data cannot tell"
    assert cards["roi"].unit.startswith("inconclusive: the data cannot tell")  # the card agrees
    assert row["posterior_prob_causal_effect"] == (
        f"{cards['posterior_prob_causal_effect'].value}; a credible increase"
    )
    assert (
        row["post_dip_gmv"] == f"{cards['post_dip_gmv'].value}; inconclusive: the data cannot tell"
    )
    # figures without an interval verdict are as the card shows them
    assert row["target_achievement"] == cards["target_achievement"].value


@pytest.mark.parametrize(
    ("kw", "roi", "prob"),
    [
        ({"roi_ci": (0.1, 0.9)}, "paid for itself", "a credible increase"),
        ({"roi_ci": (-0.9, -0.1)}, "did not pay for itself", "a credible increase"),
        ({"placebo": PLACEBO_FAILED}, None, "not established: a model check failed"),
    ],
)
def test_campaign_index_verdict_follows_the_interval_and_the_checks(kw, roi, prob, monkeypatch):
    row = _row(retro(**kw), "en", monkeypatch)
    if roi:
        assert row["roi"].endswith(f"; {roi}")
    assert row["posterior_prob_causal_effect"].endswith(f"; {prob}")


def test_campaign_index_verdict_in_chinese(monkeypatch):
    row = _row(retro(), "zh", monkeypatch)
    assert row["roi"].endswith("；不确定：数据不足以判断")
    assert row["posterior_prob_causal_effect"].endswith("；可信的增长")
