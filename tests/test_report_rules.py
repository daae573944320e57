"""REPORTS.md over every example report, in English and in Chinese.

Each example params file (params/**.yaml) is copied twice, with ``lang: en`` and ``lang: zh`` (and
``data.url`` made absolute), and each copy set runs through one ``workbook run-all`` with
``WORKBOOK_CHECK_CHARTS=1``: every chart is measured by
:func:`analysis_lib.present.charts.base.check`. ``WORKBOOK_CHART_LOG`` makes the check record each
chart's words and problems instead of failing the run at the first, so one failing test lists
every violation of every report (report, rule, sentence), not the first one found. The full list
is also written to ``test-artifacts/report_rules/<lang>.txt`` for the notebook owners.

The wording rules read the rendered report's text (HTML stripped; the params block of the
provenance footer and its fingerprint and code version left out, being machine values), the alt
text of every image, and the words drawn in every chart:

- nothing raw: ``nan``, ``NaN``, ``None``, ``inf``, ``NaT``, Python reprs, a negative zero;
- p-values never ``0.00`` (in a sentence or in a p-value column), never "probability of no effect";
- no internal key with an underscore (``page_view``, ``gmv_share``) outside names from the data;
- Chinese pages: no English word outside names from the data and :data:`ACRONYMS`, no ``n/a``;
  English pages: no Chinese outside names from the data;
- the page declares its language (``<html lang="zh-CN">``).

*Names from the data* are the distinct values of the text columns of the tables the examples read
(brands, categories, product and campaign names, experiment variants), the capitalised headers of
CSV series (``VolksWagen``), and the params' titles and names, which the analyst wrote. Values the
catalog translates (``values.<kind>.<raw>``: events, channels, devices, statuses...) are internal
keys, not names: a Chinese page must show their label.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from analysis_lib.run.cli import DEMO_TODAY
from tests import browser as B
from tests.conftest import SCREENSHOTS
from tests.test_runner import ROOT, workbook

pytestmark = pytest.mark.e2e
LANGS = ("en", "zh")
PARAMS = ROOT / "params"
ARTIFACTS = ROOT / "test-artifacts" / "report_rules"

# Words a Chinese report may show in Latin letters: metric and method acronyms managers use as
# they are, currency symbols Babel prints in zh (US$), and the catalog's own "App".
ACRONYMS = set(
    [
        "GMV",
        "UV",
        "PV",
        "AOV",
        "SKU",
        "SKUs",
        "ROI",
        "ROAS",
        "CAC",
        "LTV",
        "CLV",
        "HHI",
        "CR",
        "CR3",
        "CI",
        "MDE",
        "SRM",
        "DAU",
        "MAU",
        "KPI",
        "KPIs",
        "BG",
        "NBD",
        "RFM",
        "CUPED",
        "BSTS",
        "ARMA",
        "YoY",
        "MoM",
        "A/B",
        "UTC",
        "ID",
        "CSV",
        "CRM",
        "App",
        "APP",
        "TOP",
        "Top",
        "US",
        "HK",
    ]
)
# Names of methods, models and tools, which Chinese analysts write in Latin letters as they are
# (a translation would hide what to look up). Keep it to proper names: a common English word
# here would let untranslated text through.
PROPER_NOUNS = set(
    [
        "CausalImpact",
        "MCMC",
        "LMDI",
        "ABC",
        "ERP",
        "SMART",
        "Wilson",
        "PostHog",
        "Amplitude",
        "Gamma-Gamma",
        "BG/NBD",
        "PyMC",
        "statsmodels",
        "UnobservedComponents",
        "pymc-marketing",
        "Bayes",
        "Welch",
        "Holm",
        "Bonferroni",
    ]
)
RAW = [
    ("raw nan", re.compile(r"\bnan\b")),
    ("raw NaN", re.compile(r"\bNaN\b")),
    ("raw None", re.compile(r"\bNone\b(?! of\b)")),
    ("raw inf", re.compile(r"(?<![\w.])[-−]?inf\b|\bInfinity\b")),
    ("raw NaT/NA", re.compile(r"\bNaT\b|<NA>")),
    (
        "Python repr",
        re.compile(r" at 0x[0-9a-f]{6,}|<Figure size|Figure size \d+x\d+|<Axes|\b[A-Z]\w*\(\w+="),
    ),
    ("negative zero", re.compile(r"(?<![\w.\-−])[-−]0(?:[.,]0+)?(?![.,]?\d)")),
    (
        "p-value printed as 0.00",
        re.compile(
            r"(?i)\bp(?:-value)?\s*(?:=|<|≤|:|：|is)\s*0[.,]0+(?![.,]?\d*[1-9])"
            r"|p\s*值\s*(?:=|<|为|是|：|:)?\s*0[.,]0+(?!\d*[1-9])"
        ),
    ),
    (
        "p-value called a probability of no effect",
        re.compile(
            r"(?i)probability of no effect|P\s*\(\s*no effect\s*\)|无效应的概率|无效果的概率"
        ),
    ),
]
UNDERSCORED = re.compile(r"(?<![\w/.\-])[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+(?![\w])")
WORD = re.compile(r"[A-Za-z0-9_]*[A-Za-z][A-Za-z0-9_]*(?:[/\-][A-Za-z0-9_]+)*")
PATH = re.compile(r"(?:[A-Za-z]:)?(?:/[\w.\-]+){2,}")  # a file the report says it wrote
CJK = re.compile(r"[\u3400-\u9fff]+")
P_HEADER = re.compile(r"(?i)p-value|p 值|p值|\bp\b")
ZERO_P = re.compile(r"^[<≤]?\s*0[.,]0+$")


# --- running the examples in each language -------------------------------------------------------


def _absolute(url: str) -> str:
    if "://" in url or Path(url).is_absolute():
        return url
    return str((ROOT / url).resolve())


def localized(dst: Path, lang: str) -> dict[str, dict]:
    """Copy every example params file to ``dst`` with ``lang`` and an absolute ``data.url``;
    returns the params by report name (``notebook/stem``)."""
    out = {}
    for src in sorted(PARAMS.rglob("*.yaml")):
        p = yaml.safe_load(src.read_text(encoding="utf-8"))
        p["lang"] = lang
        p.setdefault("data", {})["url"] = _absolute(p["data"]["url"])
        target = dst / src.parent.name / src.name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(yaml.safe_dump(p, allow_unicode=True, sort_keys=False), encoding="utf-8")
        out[f"{p['notebook']}/{src.stem}"] = p
    return out


@dataclass
class LangRun:
    lang: str
    reports: Path
    log: Path
    params: dict[str, dict]
    stdout: str
    violations: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def report_dirs(self) -> dict[str, Path]:
        return {name: self.reports / name for name in self.params}


@pytest.fixture(scope="module", params=LANGS)
def run(request, tmp_path_factory, sample_dir) -> LangRun:
    """One ``workbook run-all`` of every example in one language, charts checked and logged."""
    lang = request.param
    base = tmp_path_factory.mktemp(f"rules-{lang}")
    params = localized(base / "params", lang)
    log = base / "charts.jsonl"
    env = dict(os.environ, WORKBOOK_CHECK_CHARTS="1", WORKBOOK_CHART_LOG=str(log))
    env.setdefault("WORKBOOK_TODAY", DEMO_TODAY)  # the rolling examples: the sample's 2025
    env.pop("WORKBOOK_NOTEBOOKS", None)
    r = workbook("run-all", base / "params", "--out", base / "reports", env=env)
    return LangRun(lang, base / "reports", log, params, r.stdout + r.stderr)


# --- names from the data -------------------------------------------------------------------------


def catalog_keys() -> set[str]:
    """Raw values the catalog translates (``values.<kind>.<raw>``): internal keys."""
    from analysis_lib.present.words import catalog

    return {k.split(".", 2)[2] for k in catalog() if k.startswith("values.") and k.count(".") >= 2}


def _id_like(column: str) -> bool:
    c = column.lower()
    return c.endswith("id") or c in {"sku", "period", "date"} or c.endswith("_ts")


@functools.cache
def _names_in(folder: str) -> frozenset[str]:
    """Distinct values of the text columns of every table under ``folder``, and the capitalised
    headers of its CSV files (series names such as ``VolksWagen``)."""
    import duckdb

    root = Path(folder)
    if not root.is_dir():
        return frozenset()
    con = duckdb.connect()
    found: set[str] = set()
    sources = [f"read_csv_auto('{f}')" for f in root.glob("*.csv")]
    sources += [f"read_parquet('{f}')" for f in root.glob("*.parquet")]
    sources += [
        f"read_parquet('{d}/**/*.parquet', union_by_name=true)"
        for d in root.iterdir()
        if d.is_dir() and any(d.rglob("*.parquet"))
    ]
    for src in sources:
        cols = con.sql(f"DESCRIBE SELECT * FROM {src}").fetchall()
        for name, typ, *_ in cols:
            if src.startswith("read_csv") and name.strip('" ')[:1].isupper():
                found.add(name)
            if not name.strip() or typ != "VARCHAR" or _id_like(name):
                continue
            col = '"' + name.replace('"', '""') + '"'
            q = f"SELECT DISTINCT {col} FROM {src} WHERE {col} IS NOT NULL LIMIT 5000"
            found.update(str(v) for (v,) in con.sql(q).fetchall())
    return frozenset(found)


def _param_names(p: dict) -> set[str]:
    """The analyst's words in the params: titles, ``name``/``label`` values, and any free text
    (a value with a space: an owner "Head of operations", an assumption), and the environment
    variable or file a delivery names (``env: WORKBOOK_ALERT_URLS``: a report whose delivery has
    no destination says which). Single words are left out: they are keys and choices (``gmv``,
    ``week``) that the report must translate."""
    out: set[str] = set()

    def walk(node):
        if isinstance(node, dict):
            for k, v in node.items():
                names = {"title", "name", "label", "names", "labels", "env", "file"}
                if k in names and isinstance(v, str):
                    out.add(v)
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
        elif isinstance(node, str) and " " in node.strip():
            out.add(node)

    walk(p)
    return out


@functools.cache
def _keys() -> frozenset[str]:
    return frozenset(catalog_keys())


def names_for(p: dict) -> tuple[set[str], set[str]]:
    """(whole names, their words) allowed in a report run with params ``p``."""
    from analysis_lib.core.data import CANONICAL

    url = p["data"]["url"]
    # the canonical tables' names are file names the analyst supplies (orders.parquet): a report
    # names them where a table is missing or has a problem, as it would name a file
    values = {v for v in _names_in(url) if v not in _keys()} | _param_names(p) | set(CANONICAL)
    words: set[str] = set()
    for v in values:
        words.update(WORD.findall(v))
        words.update(CJK.findall(v))
    return values, words


# --- reading a report ----------------------------------------------------------------------------


def page_lines(html: str) -> tuple[list[str], list[str], list[list[str]]]:
    """(text lines, alt texts, p-value column cells) of a rendered report."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["style", "script", "head"]):
        tag.decompose()
    for footer in soup.select("footer.wb-footer"):
        for d in footer.find_all("details"):
            d.decompose()  # the params as given: the one place raw values may show
        for p in footer.find_all("p"):  # fingerprint and code version: keep only their labels
            p.string = " · ".join(part.split(":")[0] for part in p.get_text().split(" · "))
    alts = [img.get("alt", "") for img in soup.find_all("img")]
    pcols: list[list[str]] = []
    for table in soup.find_all("table"):
        rows = [
            [c.get_text(" ", strip=True) for c in tr.find_all(["th", "td"])]
            for tr in table.find_all("tr")
        ]
        header = next((r for r in rows if r), [])
        for j, h in enumerate(header):
            if P_HEADER.search(h) and "(" not in h:
                pcols.append([r[j] for r in rows[1:] if len(r) > j])
    lines = [" ".join(s.split()) for s in soup.get_text("\n").split("\n")]
    return [s for s in lines if s], alts, pcols


def _clip(line: str, at: int, width: int = 110) -> str:
    lo = max(0, at - width // 2)
    s = line[lo : lo + width]
    return ("…" if lo else "") + s + ("…" if lo + width < len(line) else "")


def _latin_ok(token: str, words: set[str]) -> bool:
    """Whether a Latin-letter word may stand in a Chinese report: a single letter (p, N, x), a
    code with digits or an underscore key (other rules), an acronym, a proper name, a name from
    the data or params; a compound (LTV/CAC, Gamma-Gamma) when each part is."""
    if len(token) < 2 or re.search(r"[\d_]", token):
        return True
    if token in ACRONYMS or token in PROPER_NOUNS or token in words:
        return True
    parts = re.split(r"[/\-]", token)
    return len(parts) > 1 and all(_latin_ok(x, words) for x in parts)


def word_violations(line: str, lang: str, names: set[str], words: set[str]) -> list[str]:
    """The wording rules one line of text breaks, each with the line."""
    out = []
    for rule, pat in RAW:
        m = pat.search(line)
        if m:
            out.append(f"{rule}: {_clip(line, m.start())!r}")
    if out and out[-1].startswith("Python repr"):
        return out  # one problem, not every English word of the repr
    line = PATH.sub(" ", line)
    for m in UNDERSCORED.finditer(line):
        if m.group() not in words and m.group() not in names:
            out.append(f"internal key {m.group()!r}: {_clip(line, m.start())!r}")
    if lang == "zh":
        if re.search(r"(?<!\w)n/a(?!\w)", line):
            out.append(f"'n/a' in Chinese (无数据): {_clip(line, line.find('n/a'))!r}")
        bad = [m for m in WORD.finditer(line) if not _latin_ok(m.group(), words)]
        if bad:
            shown = ", ".join(sorted({m.group() for m in bad}))
            out.append(f"English in Chinese ({shown}): {_clip(line, bad[0].start())!r}")
    else:
        bad_cjk = [m for m in CJK.finditer(line) if m.group() not in words]
        if bad_cjk:
            out.append(
                f"Chinese in English ({bad_cjk[0].group()}): {_clip(line, bad_cjk[0].start())!r}"
            )
    return out


def chart_log(run: LangRun) -> list[dict]:
    if not run.log.exists():
        return []
    return [json.loads(x) for x in run.log.read_text(encoding="utf-8").splitlines() if x.strip()]


def _reports_by_alt(run: LangRun) -> dict[str, list[str]]:
    by_alt: dict[str, list[str]] = defaultdict(list)
    for name, d in run.report_dirs().items():
        page = d / "report.html"
        if page.exists():
            for alt in page_lines(page.read_text(encoding="utf-8"))[1]:
                by_alt[alt].append(name)
    return by_alt


def _condense(violations: list[str], keep: int = 3) -> list[str]:
    """At most ``keep`` lines per rule and report (a printed list can make dozens), then how many
    more there are."""
    by_rule: dict[str, list[str]] = defaultdict(list)
    for v in violations:
        by_rule[v.split(":", 1)[0]].append(v)
    out = []
    for rule, vs in by_rule.items():
        out += vs[:keep]
        if len(vs) > keep:
            out.append(f"{rule}: {len(vs) - keep} more like these")
    return out


def _fail(run: LangRun, what: str, found: dict[str, list[str]]) -> None:
    """Write every violation to test-artifacts and fail with all of them."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    n = sum(len(v) for v in found.values())
    found = {name: _condense(vs) for name, vs in found.items()}
    lines = [
        f"{name} [{run.lang}]:\n" + "\n".join(f"  - {v}" for v in vs)
        for name, vs in sorted(found.items())
        if vs
    ]
    text = "\n".join(lines)
    (ARTIFACTS / f"{what}-{run.lang}.txt").write_text(text + "\n", encoding="utf-8")
    if lines:
        pytest.fail(
            f"{n} {what} violation(s) in {len(lines)} report(s) [{run.lang}]:\n{text}",
            pytrace=False,
        )


# --- the tests -----------------------------------------------------------------------------------


def test_every_example_runs(run):
    found: dict[str, list[str]] = {}
    for name, d in run.report_dirs().items():
        res = d / "results.json"
        failed = d.parent / f"{d.name}.failed" / "results.json"
        if res.exists() and json.loads(res.read_text())["status"] == "ok":
            continue
        err = json.loads(failed.read_text()).get("error") if failed.exists() else run.stdout[-300:]
        found[name] = [f"did not run: {err}"]
    _fail(run, "run", found)


def test_charts_follow_the_house_rules(run):
    """Every chart of every report passes :func:`check` (overlapping or tiny text, text outside
    the figure, legends over data, value axes without a title, ticks that lie, clipped bubbles)."""
    by_alt = _reports_by_alt(run)
    found: dict[str, list[str]] = defaultdict(list)
    records = chart_log(run)
    assert records, "no chart was checked: is WORKBOOK_CHART_LOG reaching the kernels?"
    for rec in records:
        for problem in rec["problems"]:
            for name in by_alt.get(rec["alt"], ["(report not found: it failed to run)"]):
                found[name].append(f"chart {rec['alt']!r}: {problem}")
    _fail(run, "charts", found)


def test_report_words(run):
    """The page text, alt texts and chart words of every report follow the wording rules."""
    by_alt = _reports_by_alt(run)
    found: dict[str, list[str]] = defaultdict(list)
    allowed = {name: names_for(p) for name, p in run.params.items()}
    for name, d in run.report_dirs().items():
        page = d / "report.html"
        if not page.exists():
            continue
        names, words = allowed[name]
        lines, alts, pcols = page_lines(page.read_text(encoding="utf-8"))
        for line in lines:
            found[name] += word_violations(line, run.lang, names, words)
        for alt in alts:
            found[name] += [f"alt text: {v}" for v in word_violations(alt, run.lang, names, words)]
        for col in pcols:
            zeros = [c for c in col if ZERO_P.match(c)]
            if zeros:
                found[name].append(f"p-value printed as {zeros[0]!r} in a table")
    for rec in chart_log(run):
        for name in by_alt.get(rec["alt"], []):
            names, words = allowed[name]
            for text in rec["texts"]:
                for v in word_violations(text, run.lang, names, words):
                    found[name].append(f"chart {rec['alt']!r}: {v}")
    found = {k: list(dict.fromkeys(v)) for k, v in found.items()}  # one line per repeated text
    _fail(run, "words", found)


def test_pages_declare_their_language(run):
    want = {"en": "en", "zh": "zh-CN"}[run.lang]
    found: dict[str, list[str]] = {}
    for name, d in run.report_dirs().items():
        page = d / "report.html"
        if page.exists():
            m = re.search(r"<html[^>]*\blang=\"([^\"]*)\"", page.read_text(encoding="utf-8"))
            if not m or m.group(1) != want:
                found[name] = [f"<html lang={m.group(1) if m else None!r}>, want {want!r}"]
    _fail(run, "lang", found)


@pytest.mark.browser
def test_screenshots_in_both_languages(run, browser):
    """A full-page screenshot of every example in this language, saved for review under
    SCREENSHOTS/<lang>/ (Chinese renders with the bundled CJK font: tests/browser.py)."""
    shots = []
    for name, d in run.report_dirs().items():
        page = d / "report.html"
        if not page.exists():
            continue
        r = B.open_page(browser, page)
        out = SCREENSHOTS / run.lang / (name.replace("/", "__") + ".png")
        shots.append(B.screenshot(browser, r["height"], out))
    assert shots
    assert all(s.stat().st_size > 10_000 for s in shots), "a screenshot looks blank"


def test_rules_catch_what_they_must():
    """The wording rules on planted sentences (a rule that cannot fail checks nothing)."""
    names, words = {"gate_30", "OurShop"}, {"gate_30", "OurShop"}
    bad_en = [
        "Conversion was nan in week 3",
        "p = 0.00, significant",
        "the probability of no effect is 3%",
        "GMV changed −0.0 pp",
        "the bottleneck is add_to_cart",
        "按 device 拆分",
        "<Figure size 900x400 with 1 Axes>",
        "[Finding(table='orders', check='zero GMV', rows=0)]",
    ]
    for s in bad_en:
        assert word_violations(s, "en", names, words), s
    for s in [
        "完成 purchase 的用户",
        "转化率 n/a",
        "变化 +2.1 pp",
        "orders 与 users 表",
        "客户 id",
    ]:
        assert word_violations(s, "zh", names, words), s
    good = [
        ("p < 0.001; gate_30 beat control by −0.05 pp", "en"),
        ("None of the guardrails failed", "en"),
        ("OurShop 的 GMV 为 ¥1,234（2025-01-05）", "zh"),
        ("p 值 = 0.013，95% 置信区间", "zh"),
        ("LTV/CAC 为 3.2；BG/NBD 与 Gamma-Gamma 模型（与 R CausalImpact 相同）", "zh"),
        ("已写入 /work/main/exports/targets_2026.parquet", "zh"),
    ]
    for s, lang in good:
        assert not word_violations(s, lang, names, words), s


def test_chromium_gets_a_cjk_font(tmp_path):
    """The fontconfig file handed to Chromium finds a Chinese font (no system package needed)."""
    import shutil
    import subprocess

    fc_list = shutil.which("fc-list")
    assert fc_list, "fontconfig's fc-list is missing (Chromium depends on fontconfig)"
    env = dict(os.environ, FONTCONFIG_FILE=str(B.cjk_fontconfig(tmp_path)))
    out = subprocess.run([fc_list, ":lang=zh", "family"], env=env, capture_output=True, text=True)
    assert "Noto Sans CJK SC" in out.stdout, out.stdout + out.stderr
