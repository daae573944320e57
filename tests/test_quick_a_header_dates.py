"""The report's title line never breaks a date in the middle ("data through 2025-12-" / "31" in
English, "1998-" / "06-30"): each date, and each end of a range, is a span that does not wrap,
its text unchanged (copy-paste gives the same date)."""

from __future__ import annotations

import re

import pytest
from bs4 import BeautifulSoup

from analysis_lib.present import blocks as B
from analysis_lib.present.context import use
from tests import browser as BR

DATE = re.compile(r"\d{4}-\d{2}(?:-\d{2})?|\d{4}年\d{1,2}月(?:\d{1,2}日)?")


def _line(lang: str, period: str, compared: str, last) -> BeautifulSoup:
    with use(lang=lang):
        html = B.title_block("KPI monitor — daily alerts", period, compared, last).markup
    return BeautifulSoup(html, "html.parser").select_one(".wb-title p")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_each_date_in_the_title_line_is_a_nowrap_span(lang):
    p = _line(
        lang,
        "2024-12-26 – 2025-01-22",
        "the previous period (2024-11-28 – 2024-12-25) and 1997-01 – 1997-12",
        "2025-12-31",
    )
    text = p.get_text()
    dates = DATE.findall(text)
    assert len(dates) == 7 and "2025-12-31" in dates
    spans = p.select("span.wb-date")
    assert [s.get_text() for s in spans] == dates  # every date, its own span, text as it was
    assert all("white-space:nowrap" in s["style"].replace(" ", "") for s in spans)
    assert "2024-12-26 – 2025-01-22" in text  # the words around are unchanged


def test_a_chinese_date_beside_chinese_words_is_kept_whole():
    with use(lang="zh"):
        html = B.title_block("T", "截至2025年12月31日", None, None).markup
    assert '<span class="wb-date" style="white-space:nowrap">2025年12月31日</span>' in html


def test_a_title_line_without_dates_is_as_before():
    with use(lang="en"):
        html = B.title_block("T", "week 40 of 2025", "the previous week").markup
    assert "wb-date" not in html and "week 40 of 2025 · compared with the previous week" in html


@pytest.mark.browser
def test_no_date_breaks_at_any_width(browser, tmp_path):
    """Chromium lays the title line out at every width from 300 to 1100 px: no date spans two
    lines (the header wrapped "2025-12-" / "31" at 1100 px before)."""
    with use(lang="en"):
        block = B.title_block(
            "CDNOW — 1998 target from 1997 history",
            "target for 1998 · history 1997-01 – 1997-12",
            "the baseline forecast and the last twelve months (1997-01 – 1997-12)",
            "1998-06-30",
        ).markup
    page = tmp_path / "title.html"
    page.write_text(
        '<!doctype html><html><body style="font-family:sans-serif"><div id="box">'
        f"{block}</div></body></html>",
        encoding="utf-8",
    )
    BR.open_page(browser, page)
    broken = browser.execute_script(
        """
        const box = document.getElementById('box'), out = [];
        const spans = Array.from(box.querySelectorAll('.wb-date'));
        for (let w = 300; w <= 1100; w += 3) {
          box.style.width = w + 'px';
          for (const s of spans) {
            const tops = new Set(Array.from(s.getClientRects()).map(r => Math.round(r.top)));
            if (tops.size !== 1) out.push([w, s.textContent]);
          }
        }
        return [spans.length, out];
        """
    )
    assert broken == [5, []], broken[1][:5]
