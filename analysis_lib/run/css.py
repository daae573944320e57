"""The page's CSS cut to the rules that can apply to it (issue 20): nbconvert's lab template
inlines JupyterLab's whole stylesheet (about 240 KB) into every report; a report keeps the rules
whose every class some element of the page has, and the custom properties something reads.
Screenshots of every example are identical to the pixel before and after."""

from __future__ import annotations

import functools
import re

_STYLE = re.compile(r"(<style[^>]*>)(.*?)(</style>)", re.S | re.I)
_CLASS_ATTR = re.compile(r"""\bclass\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.I)
_PSEUDO_FN = re.compile(r":[\w-]+\((?:[^()]|\([^()]*\))*\)")  # :not(.a), :is(.a, .b), :has(...)
_ATTR_SEL = re.compile(r"\[[^\]]*\]")
_CLASS_SEL = re.compile(r"\.(-?[_a-zA-Z][\w-]*)")


_CSS_TOKEN = re.compile(r"""/\*.*?\*/|"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|[(){}\[\];,]""", re.S)


def _scan(css: str, i: int, stop: str) -> int:
    """The index of the first ``stop`` character at ``i`` or after it, outside strings, comments,
    parentheses and nested braces (``len(css)`` when there is none)."""
    depth = 0
    for m in _CSS_TOKEN.finditer(css, i):
        c = m.group()
        if len(c) > 1:  # a comment or a string
            continue
        if depth == 0 and c in stop:
            return m.start()
        if c in "({[":
            depth += 1
        elif c in ")}]":
            depth -= 1
    return len(css)


def _css_items(css: str) -> list:
    """``css`` as a list of top-level items: ``(selectors, text)`` for a style rule (its
    selector list split at top-level commas), ``(prelude, items)`` for a conditional group
    (``@media``, ``@supports``, ``@layer``, ``@container``) and ``(None, text)`` for anything
    else (``@font-face``, ``@keyframes``, ``@import``), kept as it is. Comments are dropped."""
    items: list = []
    i, n = 0, len(css)
    while i < n:
        if css[i].isspace():
            i += 1
            continue
        if css.startswith("/*", i):
            end = css.find("*/", i + 2)
            i = n if end < 0 else end + 2
            continue
        j = _scan(css, i, "{;}")
        if j >= n or css[j] != "{":  # a statement (@charset, @import) or a stray character
            items.append((None, css[i : j + 1]))
            i = j + 1
            continue
        prelude = re.sub(r"/\*.*?\*/", "", css[i:j], flags=re.S).strip()
        k = _scan(css, j + 1, "}")
        inner = css[j + 1 : k]
        head = prelude.split(None, 1)[0].lower() if prelude else ""
        if head in ("@media", "@supports", "@layer", "@container", "@document"):
            items.append((prelude, _css_items(inner)))
        elif prelude.startswith("@"):
            items.append((None, css[i : k + 1]))
        else:
            sels, p = [], 0
            while p <= len(prelude):
                q = _scan(prelude, p, ",")
                sels.append(prelude[p:q])
                p = q + 1
            items.append((tuple(sels), f"{prelude}{{{inner}}}"))
        i = k + 1
    return items


@functools.lru_cache(maxsize=32)
def _parsed_css(css: str) -> tuple:
    return tuple(_css_items(css))


@functools.lru_cache(maxsize=20_000)
def _needed_classes(selector: str) -> tuple[str, ...]:
    """The classes an element must have for ``selector`` to match it (classes inside ``:not()``
    and other functional pseudo-classes, and escaped names, are not counted: kept to be safe)."""
    if "\\" in selector:
        return ()
    bare = _ATTR_SEL.sub("", selector)
    while True:
        stripped = _PSEUDO_FN.sub("", bare)
        if stripped == bare:
            break
        bare = stripped
    return tuple(_CLASS_SEL.findall(bare))


def _may_match(selector: str, classes: frozenset[str]) -> bool:
    """False when ``selector`` needs a class the page has none of."""
    return all(c in classes for c in _needed_classes(selector))


def _kept(items, classes: frozenset[str]) -> str:
    out = []
    for head, body in items:
        if head is None:
            out.append(body)
        elif isinstance(head, tuple):
            if any(_may_match(s, classes) for s in head):
                out.append(body)
        else:
            inner = _kept(body, classes)
            if inner:
                out.append(f"{head}{{{inner}}}")
    return "\n".join(out)


_CUSTOM_PROP = re.compile(r"(?<=[{;\s])(--[\w-]+)\s*:")
_VAR_REF = re.compile(r"var\(\s*(--[\w-]+)")


def _drop_unused_properties(blocks: list[str]) -> list[str]:
    """``blocks`` without the custom properties (``--name: value;``) nothing reads through
    ``var()``, directly or through another property that is read: JupyterLab defines 85 KB of
    icons and palettes as properties of ``:root`` that a report's rules never use."""
    spans = []  # per block: (start, end, name, value) of each custom property's declaration
    for css in blocks:
        found = []
        for m in _CUSTOM_PROP.finditer(css):
            end = _scan(css, m.end(), ";}")
            end += css[end : end + 1] == ";"
            found.append((m.start(), end, m.group(1), css[m.end() : end]))
        spans.append(found)

    def without(css: str, found, drop) -> str:
        parts, last = [], 0
        for start, end, name, _ in found:
            if drop(name):
                parts.append(css[last:start])
                last = end
        parts.append(css[last:])
        return "".join(parts)

    used = {
        n
        for css, found in zip(blocks, spans, strict=True)
        for n in _VAR_REF.findall(without(css, found, lambda _: True))
    }
    values: dict[str, list[str]] = {}
    for found in spans:
        for _, _, name, value in found:
            values.setdefault(name, []).append(value)
    todo = list(used)
    while todo:
        for v in values.get(todo.pop(), ()):
            for n in _VAR_REF.findall(v):
                if n not in used:
                    used.add(n)
                    todo.append(n)
    return [
        without(css, found, lambda n: n not in used)
        for css, found in zip(blocks, spans, strict=True)
    ]


def prune_css(page: str) -> str:
    """``page`` with its ``<style>`` blocks cut to what can apply to it: a rule is dropped when
    every selector of it names a class no element of the page has (the page runs no script that
    could add one), and a custom property when nothing reads it. nbconvert's lab template inlines
    JupyterLab's whole stylesheet (about 250 KB, for every widget of the lab) into every report;
    a report uses a few dozen of its classes. ``@font-face``, ``@keyframes`` and every rule
    without a class stay, so the page looks as it did (tests/test_runner.py; screenshots of the
    examples before and after are the same pixels)."""
    classes = frozenset(
        c for a, b in _CLASS_ATTR.findall(_STYLE.sub("", page)) for c in (a or b).split()
    )
    found = list(_STYLE.finditer(page))
    kept = _drop_unused_properties([_kept(_parsed_css(m.group(2)), classes) for m in found])
    out, last = [], 0
    for m, css in zip(found, kept, strict=True):
        out += [page[last : m.start()], m.group(1), "\n", css, "\n", m.group(3)]
        last = m.end()
    out.append(page[last:])
    return "".join(out)
