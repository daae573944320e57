"""The start and the end every notebook shares, each in one call.

``run = start(params, FunnelParams)`` validates the params, connects to the data, checks the
tables the notebook needs, and sets the report's language, currency and chart theme;
``finish(run)`` shows data quality and provenance and records the data-quality figures. A notebook
then holds only its analysis between the two.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import pandas as pd

from analysis_lib.core import data, quality
from analysis_lib.params import BaseParams
from analysis_lib.present import blocks, charts
from analysis_lib.present.context import configure

P = TypeVar("P", bound=BaseParams)


@dataclass
class Run(Generic[P]):
    """One notebook run: the validated params ``P``, the params as given (``raw``, for the
    provenance block), the data source ``src`` and the last day the data holds (``last_day``,
    for the title line)."""

    P: P
    raw: dict[str, Any]
    src: data.DataSource
    last_day: _dt.date | None

    @property
    def lang(self) -> str:
        return self.P.lang

    @property
    def start(self) -> _dt.date:
        return self.P.period.start

    @property
    def end(self) -> _dt.date:
        return self.P.period.end

    def period_text(self) -> str:
        """``2025-12-01 – 2025-12-31``."""
        return f"{self.start} – {self.end}"


def last_day(src: data.DataSource, tables: list[str]) -> _dt.date | None:
    """The last day any of the daily feeds among ``tables`` holds (orders, events), else the last
    day of any table with a time column; ``None`` when none has one."""
    days = []
    for table in [t for t in tables if t in quality.FEEDS] or tables:
        col = quality.TIME_COLUMN.get(table)
        if col and src.has(table) and col in src.table(table).columns:
            last = src.execute(src.table(table)[col].max())
            if last is not None and not pd.isna(last):
                days.append(pd.Timestamp(last).date())
    return max(days) if days else None


def start(params: dict[str, Any], schema: type[P]) -> Run[P]:
    """Validate ``params`` against ``schema``, connect, check the tables and the params against the
    data, set language, currency and chart theme. Scheduled runs were validated before the kernel started; this repeats it for
    an analyst running the notebook in JupyterLab."""
    p = schema.model_validate(params)
    src = data.connect(p.data)
    data.check_tables(src, p.required_tables, p.optional_tables)
    p.check_data(src, "params")  # event names, variants, metric columns...
    configure(lang=p.lang, currency=p.currency, timezone=p.data.timezone)
    charts.setup(p.lang)
    return Run(P=p, raw=params, src=src, last_day=last_day(src, p.tables_read()))


class Findings(list):
    """The data-quality findings :func:`finish` returns. Shown as nothing: ``finish(run)`` is
    the last line of every notebook, and a plain list there would print its repr in the report."""

    def _ipython_display_(self) -> None:
        pass


def finish(run: Run, start=None, end=None, extra: list | None = None) -> list:
    """The end of every report: the data-quality section (recorded in results.json) and the
    provenance footer. ``start``/``end`` widen the checked period (e.g. a pre-period); ``extra``
    adds the notebook's own findings (e.g. an A/B metric's missing values in a unit table), counted
    and shown with the others. Returns every finding."""
    dq = quality.for_params(run.src, run.P, start, end) + list(extra or [])
    blocks.record_figures({"data_quality": quality.summary(dq)})
    blocks.show(blocks.data_quality(dq), blocks.provenance(run.raw, data.run_fingerprint(run.P)))
    _record_queries(run.src)
    return Findings(dq)


def _record_queries(src: data.DataSource) -> None:
    """What the report sent to the engine (statements, rows read): into results.json's
    ``queries`` beside the figures, not among them (they depend on the engine, not the data)."""
    from IPython.display import display  # the kernel has it; bootstrap is imported there only

    display({blocks.FIGURES_MIME: {"figures": {}, "queries": src.query_counts()}}, raw=True)
