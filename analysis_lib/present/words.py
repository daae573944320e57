"""One catalog of words for en and zh: ``catalog/*.yaml``.

Every visible word of a report comes from here: section titles, card labels, column headers,
statistical terms, units, and the labels of internal keys that come from the data (event names,
channels, segments, actions). A notebook holds no bilingual literal; a narrative module asks for
``t("funnel.finding.bottleneck", step=..., rate=...)``.

Layout: each YAML file is a mapping of keys to ``{en: ..., zh: ...}`` leaves, nested as deep as
useful. Keys of ``common.yaml`` are used as they are (``t("summary")``); the keys of any other file
are prefixed by its name (``funnel.yaml``'s ``title`` is ``funnel.title``), except its ``shared:``
section, whose keys join the common ones (``shared: {labels: {entered: ...}}`` is
``labels.entered``), so each report's file can add column labels and data values without every
report editing one shared file; a key defined twice anywhere fails. Placeholders are
``str.format`` fields and must be the same in both languages (a test checks every entry).

Why YAML pairs and not gettext: with two languages, a reviewer reads both side by side in one file
and a missing translation is a failing test, not an English fallback on a Chinese page; gettext
keys by the English text, which changes whenever the English is edited.
"""

from __future__ import annotations

import functools
import re
import string
from importlib import resources
from typing import Any

import yaml

from analysis_lib.core import metrics as M
from analysis_lib.present.context import LANGS, lang_of

_SAFE = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the same safe constructor either way


class MissingWord(KeyError):
    """A key that is not in the catalog: a programming error, caught by the tests."""


def _flatten(prefix: str, node: Any, out: dict[str, dict[str, str]], source: str) -> None:
    if isinstance(node, dict) and set(node) and set(node) <= set(LANGS):
        out[prefix] = {k: str(v) for k, v in node.items()}
        return
    if not isinstance(node, dict):
        raise ValueError(f"{source}: {prefix}: expected {{en: ..., zh: ...}} or a mapping")
    for k, v in node.items():
        _flatten(f"{prefix}.{k}" if prefix else str(k), v, out, source)


@functools.cache
def catalog() -> dict[str, dict[str, str]]:
    """Every entry of every catalog file, by full key."""
    out: dict[str, dict[str, str]] = {}
    folder = resources.files("analysis_lib.present") / "catalog"
    for f in sorted(folder.iterdir(), key=lambda p: p.name):
        if not f.name.endswith(".yaml"):
            continue
        ns = f.name.removesuffix(".yaml")
        # libyaml's parser where PyYAML has it: 0.08 s for the catalog instead of 0.6 s per run
        data = yaml.load(f.read_text(encoding="utf-8"), Loader=_SAFE) or {}  # noqa: S506
        entries: dict[str, dict[str, str]] = {}
        shared = data.pop("shared", None) if ns != "common" else None
        _flatten("" if ns == "common" else ns, data, entries, f.name)
        if shared:
            _flatten("", shared, entries, f.name)
        for k in entries:
            if k in out:
                raise ValueError(f"{f.name}: key {k!r} defined twice")
        out |= entries
    return out


def is_one(v: Any) -> bool:
    """Whether a count reads as exactly one (CLDR's English "one": the integer 1, without a
    visible fraction): the number 1, or its text as formatted (``"1"``)."""
    if isinstance(v, bool):
        return False
    if isinstance(v, int | float):
        return v == 1 and isinstance(v, int)
    return str(v).strip().lstrip("+") == "1"


class _Words(string.Formatter):
    """``str.format`` with one more kind of field for English counts: ``{n:# day|# days}``
    shows the form before ``|`` when ``n`` reads as one (:func:`is_one`), else the form after it,
    ``#`` standing for the value (ICU's ``{n, plural, one {# day} other {# days}}``). Chinese has
    no plural: its entries write ``{n} 天``."""

    def format_field(self, value: Any, format_spec: str) -> str:
        if "|" in format_spec:
            one, other = format_spec.split("|", 1)
            return (one if is_one(value) else other).replace("#", str(value))
        return super().format_field(value, format_spec)


_FORMATTER = _Words()


def t(key: str, lang: str | None = None, /, **values: Any) -> str:
    """The words of ``key`` in ``lang`` (default: the report's), with ``values`` filled in.
    Values should already be formatted (:func:`analysis_lib.present.numbers.fmt`); a count
    with a noun is written ``{n:# day|# days}`` in English (:class:`_Words`)."""
    entry = catalog().get(key)
    if entry is None:
        raise MissingWord(key)
    text = entry[lang_of(lang)]
    if not values:
        return text
    return _FORMATTER.format(text, **values) if "|" in text else text.format(**values)


def has(key: str) -> bool:
    """Whether the catalog has ``key``."""
    return key in catalog()


def label(name: str, lang: str | None = None) -> str:
    """A header a manager can read for a column, metric or figure name: the metric registry's
    label for a metric (:mod:`analysis_lib.core.metrics`), else ``labels.<name>`` of the catalog.
    An unknown name raises :class:`MissingWord`: a column id must never reach a reader."""
    if name in M.METRICS:
        return M.label(name, lang_of(lang))
    return t(f"labels.{name}", lang)


def value(kind: str, raw: Any, lang: str | None = None) -> str:
    """The label of a value from the data of ``kind`` (``event``, ``channel``, ``device``,
    ``segment``, ``action``...): ``values.<kind>.<raw>`` of the catalog when it has one, else the
    value as it is (a shop's own event or channel name is shown as written)."""
    key = f"values.{kind}.{raw}"
    return t(key, lang) if key in catalog() else str(raw)


# placeholders of English grammar only (agreement, plurals): Chinese needs no equivalent
GRAMMAR_FIELDS = frozenset({"verb", "s", "plural"})


def fields(text: str) -> set[str]:
    """The placeholders of a catalog text that carry content (for the test that both languages
    show the same figures and names); grammar-only placeholders (:data:`GRAMMAR_FIELDS`) aside."""
    return set(re.findall(r"{(\w+)[^}]*}", text)) - GRAMMAR_FIELDS


_CJK_LATIN = re.compile(r"(?<=[\u4e00-\u9fff])(?=[A-Za-z])|(?<=[A-Za-z])(?=[\u4e00-\u9fff])")


def spaced(text: str, lang: str | None = None) -> str:
    """Chinese text with a space between a Chinese character and a Latin name from the data or
    the params (``主要来自 Electronics``), as Chinese typesetting does; other languages as
    they are. For sentences that put names from the data into Chinese words."""
    return _CJK_LATIN.sub(" ", text) if lang_of(lang) == "zh" else text
