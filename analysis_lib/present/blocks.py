"""The blocks of a report page (REPORTS.md "The shape of every report"): title line, summary
cards and findings, what to do, sections, charts with alt text, data quality, provenance; and the
hand-off of a run's figures to results.json.

Everything returns :class:`HTML` and escapes every piece of text that comes from params or data,
so a campaign named ``<script>`` shows as text. Words come from the catalog
(:mod:`analysis_lib.present.words`), numbers from :func:`analysis_lib.present.numbers.fmt`.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import io
import json
import math
import os
import re
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from analysis_lib.core.version import code_version
from analysis_lib.present.words import t, value

FIGURES_MIME = "application/vnd.workbook.figures+json"


class HTML:
    """A displayable HTML fragment (renders in Jupyter and in the nbconvert report). ``shown``:
    headline figures this fragment shows (key -> label and text), recorded for the index by
    :func:`show`."""

    def __init__(self, markup: str, shown: dict[str, dict[str, str]] | None = None):
        self.markup = markup
        self.shown = shown or {}

    def _repr_html_(self) -> str:
        return self.markup

    def __str__(self) -> str:
        return self.markup


def esc(text: Any) -> str:
    """HTML-escape any text that comes from params or data."""
    return html.escape(str(text), quote=True)


def show(*parts: HTML | str) -> None:
    """Display HTML fragments in the notebook (and so in the report)."""
    from IPython.display import HTML as _IPyHTML
    from IPython.display import display

    display(_IPyHTML("".join(str(p) for p in parts)))
    shown = {k: v for p in parts if isinstance(p, HTML) for k, v in p.shown.items()}
    if shown:  # the cards' label and text, for the index (one formatting of each figure)
        display({FIGURES_MIME: {"figures": {}, "headline": [], "shown": shown}}, raw=True)


# --- title and summary -------------------------------------------------------------------------


def title_block(
    title: str, period: str, compared: str | None = None, last_day: _dt.date | str | None = None
) -> HTML:
    """The title line: the title, the period, what it is compared with, and the last day the
    data holds (a late feed is visible at the top, not only in the data-quality section)."""
    bits = [period]
    if compared:
        bits.append(t("compared_with", period=compared))
    if last_day is not None:
        bits.append(t("data_through", day=str(last_day)))
    line = nowrap_dates(esc(" · ".join(bits)))
    return HTML(f'<div class="wb-title"><h1>{esc(title)}</h1><p>{line}</p></div>')


# a day or a month, ISO (2025-12-31, 1997-01) or Chinese (2025年12月31日, 2025年12月)
_DATE = re.compile(
    r"(?<![0-9A-Za-z-])(\d{4}-\d{2}(?:-\d{2})?|\d{4}年\d{1,2}月(?:\d{1,2}日)?)(?![0-9A-Za-z-])"
)


def nowrap_dates(escaped: str) -> str:
    """Each date in an escaped line kept on one line (``2025-12-`` / ``31`` broke a header
    between its hyphens): a ``wb-date`` span that does not wrap, its text unchanged (copy-paste
    gives the same date); a range still breaks between its two ends."""
    return _DATE.sub(r'<span class="wb-date" style="white-space:nowrap">\1</span>', escaped)


Tone = Literal["good", "bad", "neutral"]


@dataclass(frozen=True)
class Card:
    """A headline figure: ``label``, the formatted ``value``, its ``unit`` or base (one line),
    and its change against the comparison (``change``, formatted, e.g. ``+2.1 pp (+13.2%)``)
    with the direction of the move and whether that is good for this metric (a rising refund
    rate is bad)."""

    label: str
    value: str
    unit: str = ""
    change: str = ""
    direction: Literal["up", "down", "flat"] | None = None
    tone: Tone = "neutral"
    key: str | None = None  # the results.json figure it shows: the index prints this card's text


ARROWS = {"up": "▲", "down": "▼", "flat": "■"}


def direction_of(delta: float | None) -> Literal["up", "down", "flat"] | None:
    """The arrow for a change (``None`` when the change is missing)."""
    if delta is None or (isinstance(delta, float) and math.isnan(delta)):
        return None
    return "up" if delta > 0 else "down" if delta < 0 else "flat"


def tone_of(delta: float | None, higher_is_better: bool | None) -> Tone:
    """Good or bad for this metric: up is good when higher is better, bad otherwise."""
    d = direction_of(delta)
    if d in (None, "flat") or higher_is_better is None:
        return "neutral"
    return "good" if (d == "up") == higher_is_better else "bad"


def _card_html(c: Card) -> str:
    change = ""
    if c.change:
        arrow = ARROWS.get(c.direction or "", "")
        change = (
            f'<div class="wb-card-change wb-{c.tone}">'
            f"{esc(arrow + ' ' if arrow else '')}{esc(c.change)}</div>"
        )
    unit = f'<div class="wb-card-note">{esc(c.unit)}</div>' if c.unit else ""
    return (
        f'<div class="wb-card"><div class="wb-card-label">{esc(c.label)}</div>'
        f'<div class="wb-card-value">{esc(c.value)}</div>{unit}{change}</div>'
    )


def summary_block(cards: list[Card], findings: list[str]) -> HTML:
    """The summary first: three to five headline cards, then findings in the order what
    happened → what drove it → what it means."""
    items = "".join(f"<li>{esc(s)}</li>" for s in findings)
    return HTML(
        f'<section class="wb-summary"><h2>{esc(t("summary"))}</h2>'
        f'<div class="wb-cards">{"".join(_card_html(c) for c in cards)}</div>'
        f'<h3>{esc(t("findings"))}</h3><ul class="wb-findings">{items}</ul></section>',
        shown={c.key: {"label": c.label, "text": c.value} for c in cards if c.key},
    )


@dataclass(frozen=True)
class Action:
    """One recommended action: what to do (``text``: which SKUs, segments, channels, steps,
    variants) and the ``rule`` that produced it, printed beside it so a manager can judge it."""

    text: str
    rule: str


def actions_block(actions: list[Action], none_reason: str = "") -> HTML:
    """**What to do**: the actions, most urgent first, each with its rule; or why there is none."""
    if actions:
        body = "".join(
            f'<li><span class="wb-action">{esc(a.text)}</span>'
            f'<span class="wb-rule">{esc(t("rule", rule=a.rule))}</span></li>'
            for a in actions
        )
        inner = f'<ol class="wb-actions">{body}</ol>'
    else:
        inner = f'<p class="wb-note">{esc(t("no_action", reason=none_reason))}</p>'
    return HTML(f'<section class="wb-todo"><h2>{esc(t("what_to_do"))}</h2>{inner}</section>')


def section(title: str, lead: str = "") -> HTML:
    """A detail section's heading and its one sentence that says what the reader should see."""
    p = f'<p class="wb-note">{esc(lead)}</p>' if lead else ""
    return HTML(f"<h2>{esc(title)}</h2>{p}")


def paragraphs(texts: list[str], css: str = "wb-text") -> HTML:
    """Plain paragraphs (method notes, caveats)."""
    return HTML("".join(f'<p class="{css}">{esc(x)}</p>' for x in texts if x))


def method_block(notes: list[str]) -> HTML:
    """**Method and caveats**: what the model assumes, where the data is thin, what was left out."""
    items = "".join(f"<li>{esc(n)}</li>" for n in notes if n)
    return HTML(f'<section class="wb-method"><h2>{esc(t("method"))}</h2><ul>{items}</ul></section>')


# --- charts --------------------------------------------------------------------------------------


class ChartError(AssertionError):
    """A chart broke a house rule (raised only when ``WORKBOOK_CHECK_CHARTS=1``, as in the tests)."""


def png_bytes(fig) -> bytes:
    """``fig`` as a PNG cropped to its drawn content plus ``savefig.pad_inches``, as
    ``fig.savefig(..., bbox_inches="tight")`` saves it, but drawn once instead of twice.

    A tight save draws the figure without rendering to measure it, then draws it again shifted
    to the crop (the first draw is about a third of each chart's saving time, issue 20). Here the
    figure is drawn once at the save resolution, measured on that drawing, and its pixels cut to
    the same box (the same size in pixels; the margin past the figure's edge, where the padding
    reaches beyond it, in the figure's background colour, as a tight save paints it). A figure
    whose content itself reaches past its edge (a legend or label a tight save widens the canvas
    for) goes through ``savefig`` as before."""
    import matplotlib as mpl
    from matplotlib import colors, image
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    dpi = mpl.rcParams["savefig.dpi"]
    dpi = fig.dpi if dpi in (None, "figure") else float(dpi)
    plain = all(str(mpl.rcParams[f"savefig.{k}"]) == "auto" for k in ("facecolor", "edgecolor"))
    if fig.dpi == dpi and plain and not mpl.rcParams["savefig.transparent"]:
        canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
        canvas.draw()
        content = fig.get_tightbbox(canvas.get_renderer())  # inches
        fw, fh = canvas.get_width_height()
        eps = 1e-6
        if (
            content.x0 >= -eps
            and content.y0 >= -eps
            and content.x1 * dpi <= fw + eps
            and content.y1 * dpi <= fh + eps
        ):
            box = content.padded(mpl.rcParams["savefig.pad_inches"])
            # the crop's origin rounded to a pixel, its size truncated as Agg sizes a canvas
            x0, y0 = round(box.x0 * dpi), round(box.y0 * dpi)
            w, h = int(box.width * dpi), int(box.height * dpi)
            face = np.round(np.array(colors.to_rgba(fig.get_facecolor())) * 255).astype(np.uint8)
            out = np.empty((h, w, 4), np.uint8)
            out[...] = face
            drawn = np.asarray(canvas.buffer_rgba())  # rows from the top
            # the part of the crop inside the figure: columns x0..x0+w, rows from the top
            top = fh - (y0 + h)
            cx0, cx1 = max(x0, 0), min(x0 + w, fw)
            ry0, ry1 = max(top, 0), min(top + h, fh)
            out[ry0 - top : ry1 - top, cx0 - x0 : cx1 - x0] = drawn[ry0:ry1, cx0:cx1]
            buf = io.BytesIO()
            image.imsave(buf, out, format="png", dpi=dpi)
            return buf.getvalue()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    return buf.getvalue()


def figure(fig, alt: str) -> None:
    """Show a matplotlib figure as an image with ``alt`` text (what it shows), in order with the
    HTML around it, and close it. With ``WORKBOOK_CHECK_CHARTS=1`` the chart is measured first
    (:func:`analysis_lib.present.charts.base.check`) and a broken house rule fails the run."""
    import matplotlib.pyplot as plt

    if not alt or not str(alt).strip():
        raise ChartError("a chart needs alt text that says what it shows")
    try:
        if os.environ.get("WORKBOOK_CHECK_CHARTS") == "1":
            from analysis_lib.present.charts.base import check

            problems = check(fig, alt)
            if problems:
                raise ChartError(f"chart {alt!r}: " + "; ".join(problems))
        png = png_bytes(fig)
    finally:
        plt.close(fig)
    data = base64.b64encode(png).decode("ascii")
    show(
        HTML(
            f'<figure class="wb-chart"><img src="data:image/png;base64,{data}" alt="{esc(alt)}">'
            "</figure>"
        )
    )


# --- data quality and provenance ---------------------------------------------------------------


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def _dq_words(text: str) -> str:
    """A data-quality check or handling in the report's language (English texts of
    :mod:`analysis_lib.core.quality` are the keys)."""
    from analysis_lib.present.words import has

    if text.startswith("period runs past the last row ("):  # names the last day with data
        return t(
            "quality.checks_with_detail.period_runs_past", detail=text.rsplit("(", 1)[1].rstrip(")")
        )
    if " stored as a number (" in text:  # an id column read as text: names column and type
        col, typ = text.split(" stored as a number (")
        return t("quality.checks_with_detail.stored_as_number", column=col, detail=typ.rstrip(")"))
    key = f"quality.checks.{_slug(text)}"
    return t(key) if has(key) else text


def data_quality(findings: list) -> HTML:
    """The data-quality section: each check that found rows, with the count, its share of the
    rows checked and what the analysis did with them; then how many checks passed.
    ``findings`` are :class:`analysis_lib.core.quality.Finding` items."""
    from analysis_lib.present.tables import table

    hits = [f for f in findings if f.rows]
    n, passed = len(findings), len(findings) - len(hits)
    note = t("quality.note_hits" if hits else "quality.note_clean", checks=n, passed=passed)
    out = f'<h2>{esc(t("quality.title"))}</h2><p class="wb-note">{esc(note)}</p>'
    if hits:
        df = pd.DataFrame(
            {
                "table": [value("table", f.table) for f in hits],
                "check": [_dq_words(f.check) for f in hits],
                "rows": [f.rows for f in hits],
                "share": [f.rows / f.total if f.total else None for f in hits],
                "handling": [_dq_words(f.handling) for f in hits],
            }
        )
        labels = {c: t(f"quality.columns.{c}") for c in df.columns}
        out += table(df, {"rows": "count", "share": "pct"}, labels).markup
    return HTML(f'<section class="wb-quality">{out}</section>')


def provenance(params: dict, fingerprint: str) -> HTML:
    """The provenance footer: the shop (a shop profile's name), params, data fingerprint, code
    version and time of the run."""
    from analysis_lib.core.data import redact_params  # a data URL's password is never shown

    now = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    shown = json.dumps(redact_params(params), ensure_ascii=False, indent=1, default=str)
    shop = params.get("shop") if isinstance(params, dict) else None  # a shop profile's name
    name = shop.get("name") if isinstance(shop, dict) else None
    named = f"{esc(t('shop'))}: {esc(name)} · " if name else ""
    return HTML(
        f'<footer class="wb-footer"><h3>{esc(t("provenance"))}</h3>'
        f"<p>{named}{esc(t('fingerprint'))}: {esc(fingerprint)} · {esc(t('code_version'))}: "
        f"{esc(code_version())} · {esc(t('generated'))}: {esc(now)}</p>"
        f"<details><summary>{esc(t('params'))}</summary><pre>{esc(shown)}</pre></details></footer>"
    )


# --- figures for results.json ------------------------------------------------------------------


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        return None
    if isinstance(v, _dt.date | pd.Timestamp):
        return v.isoformat()
    return v


def record_figures(
    figures: dict[str, Any],
    headline: list[str] | None = None,
    shown: dict[str, Card | str] | None = None,
) -> dict[str, Any]:
    """Record the run's figures: the runner reads them from the executed notebook into
    results.json (they are not shown in the report). ``headline`` names, in order, the few figures
    the index shows for this report; ``shown`` gives, for headline figures, the card (or text) as
    the report shows it, so the index prints exactly the card's label and value (one source of
    truth: never a second formatting of the same figure). Returns the JSON-ready figures."""
    clean = _jsonable(figures)
    json.dumps(clean)  # fail here, in the notebook, if something is not serialisable
    as_shown = {
        k: {"label": c.label, "text": c.value}
        if isinstance(c, Card)
        else {"label": k, "text": str(c)}
        for k, c in (shown or {}).items()
    }
    payload = {"figures": clean, "headline": list(headline or []), "shown": as_shown}
    try:
        from IPython.display import display

        display({FIGURES_MIME: payload}, raw=True)
    except ImportError:  # pragma: no cover - IPython is a dependency
        pass
    return clean


def interactive() -> bool:
    """Whether the notebook runs for a person (JupyterLab) rather than a scheduled run."""
    return os.environ.get("WORKBOOK_BATCH") != "1"
