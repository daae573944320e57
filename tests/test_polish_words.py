"""English counts read right at one: "1 customer", "1 day", never "1 customers" (zh has no
plural). Every catalog entry that puts a count before its noun is rendered with that count at 1
and at 2; at 1 the noun must be singular, at 2 plural."""

from __future__ import annotations

import re

import pytest

from analysis_lib.present import words

# the placeholders that carry a count of things (customers, days, brands...), by name
COUNT_FIELDS = {
    "n",
    "count",
    "days",
    "months",
    "customers",
    "buyers",
    "uv",
    "brands",
    "checks",
    "segments",
    "on_sale",
    "a",
    "manual",
    "season",
    "repeat",
    "k",
    "limit",
    "history",
    "total",
    "value",
}
# words after a count that end in s but are not plural nouns
NOT_PLURAL = {
    "is",
    "was",
    "has",
    "lies",
    "as",
    "its",
    "this",
    "class",
    "series",
    "A-class",
    "needs",
}
FIELD = re.compile(r"{(\w+)(?::([^}]*))?}")


def _render(text: str, one: str) -> str:
    """The entry with field ``one`` at 1 and every other field at 2 (any other text: X)."""
    fields = {m.group(1) for m in FIELD.finditer(text)}
    values = {f: ("1" if f == one else "2" if f in COUNT_FIELDS else "X") for f in fields}
    return words._FORMATTER.format(text, **values)


def _noun_after_one(text: str) -> list[str]:
    """The two words that follow a "1 " in ``text`` (the noun, or a qualifier and the noun:
    "1 guest order", "1 A-class SKU")."""
    out = []
    for m in re.finditer(r"(?<![\w.,])1 ([\w-]+)(?: ([A-Za-z]+))?", text):
        out += [w for w in m.groups() if w]
    return out


def count_entries() -> list[tuple[str, str]]:
    """(key, count field) of every English entry where a count field stands before a word."""
    out = []
    for key, entry in sorted(words.catalog().items()):
        for m in re.finditer(r"{(\w+)(?::[^}]*)?}", entry["en"]):
            name = m.group(1)
            after = entry["en"][m.end() :]
            if name in COUNT_FIELDS and (
                re.match(r" (?:[\w-]+ )?[A-Za-z]+s\b", after) or ":" in m.group(0)
            ):
                out.append((key, name))
    return sorted(set(out))


def test_the_catalog_has_count_entries():
    """The scan finds what it must (a scan that finds nothing checks nothing)."""
    found = dict(count_entries())
    assert {"customer_value.finding.customers", "product_ops.action.restock"} <= set(found)


@pytest.mark.parametrize(("key", "field"), count_entries())
def test_one_thing_reads_singular(key, field):
    en = words.catalog()[key]["en"]
    at_one = _render(en, field)
    literal = set(_noun_after_one(en))  # a "1" written in the entry: "below 1 does"
    bad = [
        w
        for w in _noun_after_one(at_one)
        if w.endswith("s") and w not in NOT_PLURAL and w not in literal
    ]
    assert not bad, f"{key}: {at_one!r}"


def test_plural_form_in_both_directions():
    f = words._FORMATTER
    assert f.format("{n:# day|# days}", n="1") == "1 day"
    assert f.format("{n:# day|# days}", n=1) == "1 day"
    for many in ("0", "2", "1,000", "1.5", 1.0, 21):
        assert f.format("{n:# day|# days}", n=many) == f"{many} days"
    assert words.fields("{n:# day|# days} in {where}") == {"n", "where"}
