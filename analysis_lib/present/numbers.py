"""Numbers for managers, through Babel, by the report's locale (REPORTS.md "Numbers").

One function, :func:`fmt`, formats every figure a report shows, in cards, findings, tables and
chart labels alike, so one figure prints the same everywhere it appears. Money carries the shop's
currency (:class:`analysis_lib.present.context.Settings`); large money in cards is compact
(``¥123.5万``, ``CN¥1.24M``), full digits in tables; a change of a rate is given in percentage
points first (:func:`rate_change`); p-values never print as ``0.00`` (:func:`p_value`).
"""

from __future__ import annotations

import math
from typing import Any, Literal

from babel import numbers as B

from analysis_lib.present.context import lang_of, settings

Kind = Literal[
    "count",  # 1,234,568
    "money",  # ¥1,234,568 / ¥897 / ¥45.60: full digits, cents below 100
    "money_compact",  # ¥123.5万 / CN¥1.23M: cards
    "signed_money",  # +¥1,234 / −¥56.00
    "pct",  # 12.3%
    "signed_pct",  # +12.3%
    "pp",  # +2.1 pp / +2.1 个百分点
    "ratio",  # 1.23
    "p_value",  # < 0.001 / 0.013
    "duration",  # 45 s / 1.2 min / 3.4 h / 2.1 d
]
LOCALES = {"en": "en_US", "zh": "zh_Hans_CN"}
NA = {"en": "n/a", "zh": "无数据"}
MINUS = "−"  # U+2212: a minus sign that does not break from its number

_DURATION_UNITS = (  # (seconds, en, zh): the largest unit the value reaches
    (86400.0, "d", "天"),
    (3600.0, "h", "小时"),
    (60.0, "min", "分钟"),
    (1.0, "s", "秒"),
)


def missing(value: Any) -> bool:
    """Whether ``value`` is missing (None, NaN, NA)."""
    if value is None:
        return True
    try:
        return bool(value != value)  # NaN, pd.NA-safe enough for scalars
    except (TypeError, ValueError):
        return False


def fmt(
    value: Any, kind: Kind = "count", lang: str | None = None, currency: str | None = None
) -> str:
    """``value`` as a manager reads it. ``lang`` and ``currency`` default to the report's
    settings. Missing values are ``n/a`` / ``无数据``; the reason belongs next to them."""
    lg = lang_of(lang)
    loc = LOCALES[lg]
    if missing(value):
        return NA[lg]
    v = float(value)
    if math.isinf(v):
        return "∞" if v > 0 else f"{MINUS}∞"
    cur = currency if currency is not None else settings().currency
    if kind == "count":
        return _sign_fix(B.format_decimal(round(v), "#,##0", locale=loc))
    if kind == "money":
        return _money(v, cur, loc)
    if kind == "money_compact":
        return _money_compact(v, cur, lg)
    if kind == "signed_money":
        text = _money(abs(v), cur, loc)
        return text if _rounds_to_zero(v, 2) else ("+" if v > 0 else MINUS) + text
    if kind == "pct":
        return _sign_fix(B.format_percent(v, "#,##0.0%", locale=loc))
    if kind == "signed_pct":
        return _signed(v * 100, 1) + "%"
    if kind == "pp":
        return _signed(v * 100, 1) + (" 个百分点" if lg == "zh" else " pp")
    if kind == "ratio":
        return _sign_fix(B.format_decimal(v, "#,##0.00", locale=loc))
    if kind == "p_value":
        return p_value(v)
    if kind == "duration":
        return _duration(v, lg)
    raise ValueError(f"unknown number kind {kind!r}")


def p_value(p: float) -> str:
    """``< 0.001``, else two significant digits (``0.013``, ``0.28``): never ``0.00``."""
    if missing(p):
        return NA[lang_of(None)]
    if p < 0.001:
        return "< 0.001"
    return f"{p:.2g}" if p < 0.995 else "1"


def rate_change(new: float | None, old: float | None, lang: str | None = None) -> str:
    """The change of a rate: percentage points first, relative change second:
    ``+2.1 pp (+13.2%)`` / ``+2.1 个百分点（+13.2%）``."""
    if missing(new) or missing(old):
        return NA[lang_of(lang)]
    pp = fmt(new - old, "pp", lang)
    if not old:
        return pp
    rel = fmt(new / old - 1, "signed_pct", lang)
    return f"{pp}（{rel}）" if lang_of(lang) == "zh" else f"{pp} ({rel})"


def _rounds_to_zero(v: float, decimals: int) -> bool:
    return round(abs(v), decimals) == 0


def _signed(v: float, decimals: int) -> str:
    """``+1.2`` / ``−1.2`` / ``0.0``: no ``-0.0``."""
    if _rounds_to_zero(v, decimals):
        return f"{0:.{decimals}f}"
    return ("+" if v > 0 else MINUS) + f"{abs(v):,.{decimals}f}"


def _sign_fix(text: str) -> str:
    """Babel's ``-0`` and ``-0.0%`` as ``0``; a minus as the minus sign."""
    if text.startswith("-") and not any(c in "123456789" for c in text):
        return text[1:]
    return text.replace("-", MINUS, 1) if text.startswith("-") else text


def _money(v: float, cur: str | None, loc: str) -> str:
    """Whole amounts from 100 up (``¥897``, ``¥1,234``) and for zero (``¥0``); cents below 100,
    where they matter (an AOV of ``¥45.60``, a CLV of ``$5.64``)."""
    pattern = "#,##0" if abs(v) >= 100 or round(v, 2) == 0 else "#,##0.00"
    if cur:
        text = B.format_currency(v, cur, "¤" + pattern, locale=loc, currency_digits=False)
    else:
        text = B.format_decimal(v, pattern, locale=loc)
    return _sign_fix(text)


def _money_compact(v: float, cur: str | None, lg: str) -> str:
    """Cards: ``¥123.5万`` / ``¥1.23亿`` in Chinese (from 10,000), ``CN¥1.24M`` in English (from
    a million); three to four significant digits."""
    units = ((1e8, "亿"), (1e4, "万")) if lg == "zh" else ((1e9, "B"), (1e6, "M"))
    for size, suffix in units:
        if abs(v) >= size:
            n = v / size
            digits = 2 if abs(n) < 10 else 1 if abs(n) < 1000 else 0
            num = f"{abs(n):,.{digits}f}" + suffix
            sym = B.get_currency_symbol(cur, LOCALES[lg]) if cur else ""
            return (MINUS if v < 0 else "") + sym + num
    return _money(v, cur, LOCALES[lg])


def _duration(seconds: float, lang: str) -> str:
    """Elapsed seconds in the largest unit they reach, two significant digits at most one
    decimal (``45 s``, ``1.2 min``, ``3.4 h``, ``2.1 d``; ``1.2 分钟``)."""
    size, en, zh = next((u for u in _DURATION_UNITS if abs(seconds) >= u[0]), _DURATION_UNITS[-1])
    n = seconds / size
    text = f"{n:.0f}" if abs(n) >= 10 else f"{n:.1f}".removesuffix(".0")
    return f"{text} {zh}" if lang == "zh" else f"{text} {en}"
