"""The campaign retrospective's tables in Chinese: every column header is a word of the catalog
in Chinese (the channel table once showed ``roi_lo`` / ``roi_hi`` raw), with no Latin word but
the acronyms managers read as they are (ROI, ROAS, GMV)."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

from analysis_lib.present.context import use
from analysis_lib.present.reports import campaign_retro as RC
from analysis_lib.present.words import catalog
from tests.test_narrative_impact import retro

ACRONYMS = {"ROI", "ROAS", "GMV"}


def _headers(monkeypatch, section, lang: str) -> list[str]:
    """The column headers of the tables a report section displays."""
    import IPython.display
    from bs4 import BeautifulSoup

    pages: list[str] = []

    def display(obj, raw=False):
        if hasattr(obj, "_repr_html_"):
            pages.append(obj._repr_html_() or "")
        elif hasattr(obj, "data") and isinstance(obj.data, str):
            pages.append(obj.data)

    monkeypatch.setattr(IPython.display, "display", display)
    with use(lang=lang, currency="CNY"):
        section(SimpleNamespace(), retro())
    soup = BeautifulSoup("".join(pages), "html.parser")
    return [th.get_text(" ", strip=True) for th in soup.select("table th")]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_channel_table_headers_are_catalog_words(monkeypatch, lang):
    heads = _headers(monkeypatch, RC.channels, lang)
    words = {e[lang] for k, e in catalog().items() if k.startswith("campaign_retro.column.")}
    assert len(heads) >= 8, heads  # the channel table with its ROI interval columns
    assert "roi_lo" not in heads and "roi_hi" not in heads
    assert set(heads) <= words, set(heads) - words
    if lang == "zh":
        latin = {w for h in heads for w in re.findall(r"[A-Za-z_]+", h)} - ACRONYMS
        assert not latin, latin
