"""Report tables through great_tables: self-contained HTML (its CSS inline in the page, no
script), right-aligned numbers, column labels from the catalog, colour scales where a table is
read as a heatmap.

Numbers keep their type in the table and are displayed through the one formatter of the reports
(:func:`analysis_lib.present.numbers.fmt`, Babel), so a figure prints the same in a table as in
the card and the finding above it; great_tables only lays the table out.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping

import pandas as pd
from great_tables import GT, loc, style

from analysis_lib.present.blocks import HTML
from analysis_lib.present.numbers import Kind, fmt, missing
from analysis_lib.present.words import label as _label

_IDS = itertools.count(1)  # stable ids within a run: the same report renders the same HTML


def table(
    df: pd.DataFrame,
    formats: Mapping[str, Kind] | None = None,
    labels: Mapping[str, str] | None = None,
    *,
    colors: Mapping[str, str | tuple[str, float]] | None = None,
    spanners: Mapping[str, list[str]] | None = None,
    nowrap: list[str] | None = None,
) -> HTML:
    """``df`` as a report table. ``formats`` maps a column to a number kind of
    :func:`~analysis_lib.present.numbers.fmt` (other columns show as text, missing as
    ``n/a``/``无数据``); ``labels`` names columns, the others get the catalog's label
    (:func:`analysis_lib.present.words.label`: an unknown column id fails, it never reaches a
    reader); ``colors`` maps a numeric column to a palette (``"Blues"``; ``"RdYlGn"`` for a
    diverging measure) for a colour scale, or to ``(palette, centre)`` for a scale diverging
    around ``centre`` (symmetric: ``("RdYlGn", 0)`` shows every gain green, however small the
    spread of the values); ``spanners`` groups columns under a label; ``nowrap``: short columns
    (a date, a level) kept on one line, header and cells (a Chinese header breaks anywhere)."""
    formats = dict(formats or {})
    shown = df.reset_index(drop=True).copy()
    names = {c: (labels or {}).get(c) or _label(str(c)) for c in shown.columns}
    for c in shown.columns:  # text columns: missing as n/a, values as str (no "None", "nan")
        if c not in formats:
            shown[c] = [fmt(None) if missing(v) else str(v) for v in shown[c]]
    g = GT(shown, id=f"wbt{next(_IDS)}")
    for col, kind in formats.items():
        if col in shown:
            g = g.fmt(lambda v, k=kind: fmt(v, k), columns=col)
            g = g.cols_align("right", columns=col)
    g = g.cols_label(**{str(c): n for c, n in names.items()})
    for col, spec in (colors or {}).items():
        if col in shown and shown[col].notna().any():
            palette, domain = (spec, None) if isinstance(spec, str) else (spec[0], spec[1])
            if domain is not None:  # symmetric around the centre: the sign decides the hue
                half = float((shown[col] - domain).abs().max()) or 1.0
                domain = [domain - half, domain + half]
            g = g.data_color(columns=col, palette=palette, domain=domain, na_color="#FFFFFF")
    if nowrap:
        cols = [c for c in nowrap if c in shown]
        where = [loc.body(columns=cols), loc.column_labels(columns=cols)]
        g = g.tab_style(style=style.text(whitespace="nowrap"), locations=where)
    for name, cols in (spanners or {}).items():
        g = g.tab_spanner(label=name, columns=cols)
    g = g.tab_options(
        table_font_size="14px",
        column_labels_font_weight="bold",
        table_margin_left="0",
        data_row_padding="4px",
    )
    return HTML(f'<div class="wb-table">{g.as_raw_html()}</div>')
