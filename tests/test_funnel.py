"""Funnel semantics on a hand-built event log, step counts against pandas, the planted leak."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from analysis_lib.analyses import funnel as F
from analysis_lib.core import data
from analysis_lib.present.narrative import funnel as N

STEPS = ("page_view", "product_view", "add_to_cart", "checkout", "purchase")
D0 = dt.date(2025, 1, 1)


def log(tmp_path, rows) -> data.DataSource:
    df = pd.DataFrame(rows, columns=["user_id", "minutes", "event"])
    df["event_ts"] = pd.Timestamp("2025-01-01 08:00") + pd.to_timedelta(df["minutes"], unit="m")
    df["session_id"] = df["user_id"] + "-s"
    df["channel"] = np.where(df["user_id"].str.startswith("a"), "ads", "organic")
    df[["event_ts", "user_id", "event", "session_id", "channel"]].to_parquet(
        tmp_path / "events.parquet"
    )
    return data.connect(str(tmp_path))


def reached(src, spec, end=dt.date(2025, 1, 1)) -> dict[str, int]:
    us = src.execute(F.unit_steps(src, spec, D0, end).select("unit", "steps_reached"))
    return dict(zip(us["unit"], us["steps_reached"], strict=True))


def test_semantics_on_hand_built_log(tmp_path):
    day = 24 * 60
    src = log(
        tmp_path,
        [
            # u_full: every step in order, with other events between
            ("u_full", 0, "page_view"),
            ("u_full", 1, "product_view"),
            ("u_full", 2, "page_view"),
            ("u_full", 3, "add_to_cart"),
            ("u_full", 4, "checkout"),
            ("u_full", 5, "purchase"),
            # u_order: cart before product view -> cart does not count after the view
            ("u_order", 0, "page_view"),
            ("u_order", 1, "add_to_cart"),
            ("u_order", 2, "product_view"),
            # u_late: the purchase comes after the 7-day window from the first page_view
            ("u_late", 0, "page_view"),
            ("u_late", 1, "product_view"),
            ("u_late", 2, "add_to_cart"),
            ("u_late", 3, "checkout"),
            ("u_late", 8 * day, "purchase"),
            # u_many: many events per step count once
            ("u_many", 0, "page_view"),
            ("u_many", 1, "page_view"),
            ("u_many", 2, "product_view"),
            ("u_many", 3, "product_view"),
            # u_window_not_reset: the window runs from the first page_view, not from later ones
            ("u_window_not_reset", 0, "page_view"),
            ("u_window_not_reset", 6 * day, "page_view"),
            ("u_window_not_reset", 8 * day, "product_view"),
        ],
    )
    spec = F.FunnelSpec(STEPS)
    got = reached(src, spec)
    assert got == {"u_full": 5, "u_order": 2, "u_late": 4, "u_many": 2, "u_window_not_reset": 1}
    c = F.funnel(src, spec, D0, D0)
    assert c["units"].tolist() == [5, 4, 2, 2, 1]
    # over a week, the page_view on day 6 is an entry too: its chain reaches the product view
    week = D0 + dt.timedelta(days=6)
    assert reached(src, spec, week)["u_window_not_reset"] == 2
    assert reached(src, F.FunnelSpec(STEPS, entry="first"), week)["u_window_not_reset"] == 1


def test_exclusion_removes_the_unit(tmp_path):
    src = log(
        tmp_path,
        [
            ("u1", 0, "page_view"),
            ("u1", 1, "product_view"),
            ("u1", 2, "remove_from_cart"),
            ("u1", 3, "add_to_cart"),
            ("u2", 0, "page_view"),
            ("u2", 1, "product_view"),
            ("u2", 3, "add_to_cart"),
            ("u3", 0, "page_view"),
            ("u3", 5, "remove_from_cart"),  # then dropped off, within the window: removed
            ("u4", 0, "page_view"),
            ("u4", 8 * 24 * 60, "remove_from_cart"),  # after the window: stays
        ],
    )
    steps = ("page_view", "product_view", "add_to_cart")
    spec = F.FunnelSpec(steps, exclusions=("remove_from_cart",))
    assert reached(src, spec) == {"u2": 3, "u4": 1}
    # only between steps 2 and 3: u3's exclusion comes before it reached step 2
    between = F.FunnelSpec(steps, exclusions=(F.Exclusion("remove_from_cart", 1, 2),))
    assert reached(src, between) == {"u2": 3, "u3": 1, "u4": 1}
    with pytest.raises(ValueError, match="also a step"):
        F.FunnelSpec(steps, exclusions=("add_to_cart",))


def test_strict_mode_rejects_an_event_between(tmp_path):
    src = log(
        tmp_path,
        [
            ("u1", 0, "page_view"),
            ("u1", 1, "product_view"),
            ("u1", 2, "add_to_cart"),
            ("u2", 0, "page_view"),
            ("u2", 1, "page_view"),
            ("u2", 2, "product_view"),
            ("u2", 3, "add_to_cart"),
            ("u3", 0, "page_view"),
            ("u3", 1, "product_view"),
            ("u3", 2, "checkout"),
            ("u3", 3, "add_to_cart"),
        ],
    )
    steps = ("page_view", "product_view", "add_to_cart")
    # u2's second page_view starts a chain of its own (entry any)...
    assert reached(src, F.FunnelSpec(steps, mode="strict")) == {"u1": 3, "u2": 3, "u3": 2}
    # ...which the first page_view alone does not give
    strict_first = F.FunnelSpec(steps, mode="strict", entry="first")
    assert reached(src, strict_first) == {"u1": 3, "u2": 1, "u3": 2}
    assert reached(src, F.FunnelSpec(steps, mode="ordered")) == {"u1": 3, "u2": 3, "u3": 3}
    # any order: u3's checkout between does not matter
    assert reached(src, F.FunnelSpec(steps, mode="any_order"))["u3"] == 3


def test_breakdown_takes_entry_value(tmp_path):
    src = log(tmp_path, [("a1", 0, "page_view"), ("a1", 1, "product_view"), ("o1", 0, "page_view")])
    bt = F.breakdown_table(src, F.FunnelSpec(("page_view", "product_view")), D0, D0, "channel")
    assert bt.loc["ads", "page_view → product_view"] == 1.0
    assert bt.loc["organic", "page_view → product_view"] == 0.0


def pandas_funnel(folder, steps, start, end, window_days=7) -> list[int]:
    """Independent implementation of entry ``first``: per user, walk the steps in time order."""
    e = pd.read_parquet(folder / "events", columns=["user_id", "event_ts", "event"])
    lo, hi = pd.Timestamp(start), pd.Timestamp(end) + pd.Timedelta(days=1)
    e = e[
        (e.event_ts >= lo)
        & (e.event_ts < hi + pd.Timedelta(days=window_days))
        & e.event.isin(steps)
    ]
    first = e[(e.event == steps[0]) & (e.event_ts < hi)].groupby("user_id").event_ts.min()
    counts = [len(first)]
    t_prev = first
    for s in steps[1:]:
        ev = e[e.event == s].merge(t_prev.rename("t_prev"), left_on="user_id", right_index=True)
        ev = ev.merge(first.rename("t1"), left_on="user_id", right_index=True)
        ev = ev[
            (ev.event_ts >= ev.t_prev) & (ev.event_ts <= ev.t1 + pd.Timedelta(days=window_days))
        ]
        t_prev = ev.groupby("user_id").event_ts.min()
        counts.append(len(t_prev))
    return counts


def test_step_counts_equal_pandas(sample_dir):
    src = data.connect(str(sample_dir))
    start, end = dt.date(2025, 11, 1), dt.date(2025, 12, 15)
    got = F.funnel(src, F.FunnelSpec(STEPS, entry="first"), start, end)["units"].tolist()
    assert got == pandas_funnel(sample_dir, STEPS, start, end)
    # entry any counts at least as many at every step, and more at the last
    anyc = F.funnel(src, F.FunnelSpec(STEPS), start, end)["units"].tolist()
    assert anyc[0] == got[0] and all(a >= b for a, b in zip(anyc, got, strict=True))
    assert anyc[-1] > got[-1]


def test_planted_leak_is_the_bottleneck(sample_dir, truth):
    """The one bottleneck: the step whose conversion fell most against the compare period (the
    planted checkout -> purchase leak on mobile web from December), not the step with the lowest
    conversion (product view -> add to cart converts least every month)."""
    src = data.connect(str(sample_dir))
    spec = F.FunnelSpec(STEPS)
    oct_ = (dt.date(2025, 10, 1), dt.date(2025, 10, 31))
    r = F.analyse(src, spec, dt.date(2025, 12, 1), dt.date(2025, 12, 31), oct_, ["device"])
    neck = r.bottleneck
    leak = truth["funnel"]["leak"]
    a, b = leak["step"].split("->")
    assert (neck.from_step, neck.step) == (a, b)
    assert neck.p_value < 0.01 and neck.significant and neck.change < 0
    assert neck.segment.by == "device" and neck.segment.value == leak["device"]
    assert neck.segment.conversion / neck.segment.others_conversion == pytest.approx(
        leak["mult"], abs=0.2
    )
    # the lowest step conversion is another step: the report names it, but not as the bottleneck
    assert r.table["step"][r.lowest_step()] == "add_to_cart" != neck.step
    # the segment's figures are the breakdown's counts: conversion and the others pooled
    c = r.segment_counts["device"]
    seg, rest = c.loc[leak["device"]], c.drop(index=leak["device"])
    assert neck.segment.conversion == pytest.approx(seg[b] / seg[a])
    assert neck.segment.others_conversion == pytest.approx(rest[b].sum() / rest[a].sum())
    assert neck.segment.shortfall == pytest.approx(
        seg[a] * (neck.segment.others_conversion - neck.segment.conversion)
    )


def test_without_compare_period_the_largest_gap_is_the_planted_leak(sample_dir, truth):
    """No compare period (a quarter of sessions): nothing "fell", but the planted leak is the
    largest significant segment gap at a step, found by scanning every step of every breakdown
    with a Bonferroni correction; the costliest gap wins over a larger but cheaper one."""
    src = data.connect(str(sample_dir))
    spec = F.FunnelSpec(STEPS[1:], unit="session", window=86400)
    r = F.analyse(
        src, spec, dt.date(2025, 10, 1), dt.date(2025, 12, 31), None, ["device", "category"]
    )
    leak = truth["funnel"]["leak"]
    a, b = leak["step"].split("->")
    g = r.gap
    assert r.bottleneck is None and g is not None
    assert (g.from_step, g.step, g.segment.by, g.segment.value) == (a, b, "device", leak["device"])
    assert g.tested == 6 and g.significant  # 3 steps x 2 breakdowns
    assert g.p_adjusted == pytest.approx(min(1.0, 6 * g.segment.p_value))
    # the Bonferroni correction decides: a gap with p = 0.02 over 6 tests is not significant
    tbl = F.step_table([1000, 500, 100], ["a", "b", "c"])
    one = pd.DataFrame({"a": [500, 500], "b": [250, 250], "c": [60, 42]}, index=["x", "y"])
    gaps = F.largest_gap(tbl, {"device": one, "channel": one, "category": one})
    assert gaps.tested == 6 and 0.01 < gaps.segment.p_value < 0.05 and not gaps.significant
    assert F.largest_gap(tbl, {}) is None
    # the costliest significant gap: 80 units short beats a wider gap on few units
    big = pd.DataFrame({"a": [600, 400], "b": [300, 200], "c": [90, 20]}, index=["x", "y"])
    few = pd.DataFrame({"a": [960, 80], "b": [460, 40], "c": [138, 1]}, index=["x", "y"])
    wide = F.segment_gap(few, "channel", "b", "c")
    assert wide.conversion / wide.others_conversion < 0.1 and wide.significant
    g = F.largest_gap(tbl, {"device": big, "channel": few})
    assert (g.segment.by, g.segment.value, g.segment.shortfall) == (
        "device",
        "y",
        pytest.approx(40),
    )


def test_no_fall_no_bottleneck_and_small_segments_are_not_named():
    """A step that did not fall is no bottleneck, even the one that rose least; a segment below
    the minimum size is not named, however badly it converts."""
    cur = F.step_table([1000, 500, 150], ["a", "b", "c"])
    prev = F.step_table([1000, 400, 100], ["a", "b", "c"])
    assert F.bottleneck(F.compare_periods(cur, prev)) is None
    fell = F.compare_periods(F.step_table([1000, 500, 100], ["a", "b", "c"]), prev)
    small = pd.DataFrame({"a": [980, 20], "b": [490, 10], "c": [99, 1]}, index=["big", "tiny"])
    small.iloc[1] = [F.MIN_SEGMENT_UNITS - 1, F.MIN_SEGMENT_UNITS - 1, 0]
    neck = F.bottleneck(fell, {"device": small})
    assert (neck.from_step, neck.step) == ("b", "c") and neck.segment is None
    small.iloc[1] = [F.MIN_SEGMENT_UNITS, F.MIN_SEGMENT_UNITS, 0]
    assert F.bottleneck(fell, {"device": small}).segment.value == "tiny"


def test_wilson_intervals_cover_the_estimate():
    t = F.step_table([100, 40, 10], ["a", "b", "c"])
    assert (t["ci_low"] <= t["step_conversion"]).all() and (
        t["step_conversion"] <= t["ci_high"]
    ).all()
    assert t["drop_off"].tolist() == [0, 60, 30]


def test_dropoff_export_has_ids_only_outside_report(tmp_path, sample_dir):
    src = data.connect(str(sample_dir))
    spec = F.FunnelSpec(STEPS)
    n = F.export_dropoff(
        src, spec, dt.date(2025, 12, 1), dt.date(2025, 12, 31), "checkout", str(tmp_path / "x.csv")
    )
    df = pd.read_csv(tmp_path / "x.csv")
    t = F.funnel(src, spec, dt.date(2025, 12, 1), dt.date(2025, 12, 31))
    assert n == len(df) == t.loc[3, "units"] - t.loc[4, "units"]


def test_step_without_events_counts_zero_with_a_finding(tmp_path):
    """A step no event has (yet) gives zeros and a finding, not an error; a name that looks like a
    typo of an event is still refused (before: every unknown step stopped the run)."""
    from analysis_lib import params as P
    from analysis_lib.errors import ParamsError

    src = log(tmp_path, [("u1", 0, "page_view"), ("u1", 1, "product_view")])
    steps = ("page_view", "product_view", "gift_wrap_chosen")
    spec = F.FunnelSpec(steps)
    table = F.funnel(src, spec, D0, D0)
    assert table["units"].tolist() == [1, 1, 0]
    missing = F.steps_without_events(src, spec, D0, D0)
    assert missing == ["gift_wrap_chosen"]
    r = F.analyse(src, spec, D0, D0)
    assert r.missing_steps == missing
    said = N.findings(r)
    assert "No gift_wrap_chosen event in the period" in said[-1]
    doc = {
        "notebook": "funnel",
        "title": "F",
        "data": {"url": str(tmp_path)},
        "period": {"start": "2025-01-01", "end": "2025-01-01"},
        "breakdowns": [],
    }
    P.validate({**doc, "steps": list(steps)}).check_data(src, "p.yaml")
    with pytest.raises(ParamsError, match="did you mean 'product_view'"):
        P.validate({**doc, "steps": ["page_view", "product_vew"]}).check_data(src, "p.yaml")


def test_params_window_entry_mode_exclusions_reach_the_spec():
    """``window`` text, ``entry``, ``mode`` and exclusion ranges (step names or numbers) give the
    spec; the params read back from the notebook's copy give the same spec (the notebook
    validates them again); an old ``window_days`` file still reads."""
    from analysis_lib import params as P

    doc = {
        "notebook": "funnel",
        "title": "F",
        "data": {"url": "data/sample"},
        "period": {"start": "2025-12-01", "end": "2025-12-31"},
        "window": "36h",
        "entry": "first",
        "mode": "any_order",
        "exclusions": ["search", {"event": "remove_from_cart", "between": ["product_view", 4]}],
    }
    p = P.validate(doc)
    spec = p.spec()
    assert spec.window_us == 36 * 3600 * 10**6 and (spec.entry, spec.mode) == ("first", "any_order")
    assert spec.exclusions == (F.Exclusion("search", 0, 4), F.Exclusion("remove_from_cart", 1, 3))
    assert P.validate(P.to_notebook(p)).spec() == spec
    old = {k: v for k, v in doc.items() if k not in ("window", "exclusions")}
    assert P.validate({**old, "window_days": 0.7}).spec().window_us == 60_480 * 10**6


# --- the rendered reports: one source of truth per figure ----------------------------------------


@pytest.fixture(scope="module")
def funnel_reports(tmp_path_factory, sample_dir):
    """Every funnel example in both languages, rendered by ``workbook run-all`` (one run)."""
    import yaml

    from tests.test_runner import ROOT, workbook

    root = tmp_path_factory.mktemp("funnel_reports")
    folder = root / "params" / "funnel"
    folder.mkdir(parents=True)
    for f in sorted((ROOT / "params" / "funnel").glob("*.yaml")):
        doc = yaml.safe_load(f.read_text(encoding="utf-8"))
        doc["data"]["url"] = str(sample_dir)
        for lang in ("en", "zh"):
            d = {**doc, "lang": lang}
            if "export_dropoff" in d:  # one file per copy, outside the repository
                path = str(root / "exports" / f"{f.stem}_{lang}.csv")
                d |= {"export_dropoff": {**d["export_dropoff"], "path": path}}
                d["allow_outside_exports"] = True
            (folder / f"{f.stem}_{lang}.yaml").write_text(
                yaml.safe_dump(d, allow_unicode=True), encoding="utf-8"
            )
    out = root / "reports"
    r = workbook("run-all", root / "params", "--out", out)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return out


def _page(out, name):
    """The report's visible text parts: cards by label, findings, actions, tables (rows of cell
    texts), the text without the provenance footer; its figures; the index line."""
    import json

    from bs4 import BeautifulSoup

    soup = BeautifulSoup((out / "funnel" / name / "report.html").read_text("utf-8"), "html.parser")
    cards = {
        c.select_one(".wb-card-label").get_text(): {
            k: (el.get_text() if (el := c.select_one(f".wb-card-{k}")) else "")
            for k in ("value", "note", "change")
        }
        for c in soup.select(".wb-card")
    }
    tables = [
        [[td.get_text(strip=True) for td in tr.find_all("td")] for tr in tb.select("tbody tr")]
        for tb in soup.select(".wb-table table")
    ]
    footer = soup.find("footer")
    if footer:
        footer.decompose()
    for s in soup(["style", "script", "title"]):
        s.decompose()
    index = BeautifulSoup((out / "index.html").read_text("utf-8"), "html.parser")
    row = next(tr for tr in index.find_all("tr") if f"funnel/{name}/" in str(tr))
    return {
        "cards": cards,
        "findings": [li.get_text() for li in soup.select(".wb-findings li")],
        "actions": soup.select_one(".wb-todo").get_text(" "),
        "tables": tables,
        "text": soup.get_text(" "),
        "figures": json.loads((out / "funnel" / name / "results.json").read_text())["figures"],
        "index": row.get_text(" "),
        "title": soup.select_one(".wb-title h1").get_text(),
    }


@pytest.mark.e2e
@pytest.mark.parametrize(
    "name",
    ["december_vs_october_en", "december_vs_october_zh", "q4_sessions_zh_en", "q4_sessions_zh_zh"],
)
def test_report_figures_agree_everywhere(funnel_reports, name):
    """Each headline figure prints the same in its card, the findings, the tables, the index and
    results.json (formatted once, from the record); related figures hold their relation; the
    bottleneck is one pair of steps wherever it is named."""
    from analysis_lib.present.context import use
    from analysis_lib.present.numbers import fmt, rate_change
    from analysis_lib.present.words import t

    lang = name.rsplit("_", 1)[1]
    pg = _page(funnel_reports, name)
    figs, cards, finds = pg["figures"], pg["cards"], pg["findings"]
    steps = figs["steps"]
    assert figs["overall_conversion"] == pytest.approx(steps[-1]["users"] / steps[0]["users"])
    with use(lang=lang):
        entered, ov = fmt(steps[0]["users"]), fmt(figs["overall_conversion"], "pct")
        assert cards[t("funnel.cards.entered")]["value"] == entered
        assert cards[t("funnel.cards.overall")]["value"] == ov
        assert entered in finds[0] and ov in finds[0]
        step_rows = pg["tables"][0]  # step, units, step conv., CI low, CI high, overall, drop-off
        assert [row[0] for row in step_rows] == [N.step(s["step"]) for s in steps]
        assert step_rows[-1][5] == ov and step_rows[0][1] == entered
        assert f"{t('funnel.cards.overall')}: {ov}" in pg["index"]
        if figs["compare"]:
            change = rate_change(figs["overall_conversion"], figs["compare"]["overall_conversion"])
            assert change in cards[t("funnel.cards.overall")]["change"] and change in finds[0]
        neck = figs["bottleneck_step"]
        if neck is None:  # no compare period: the largest significant segment gap is the action
            assert t("funnel.cards.bottleneck") not in cards
            gap = figs["largest_gap"]
            assert gap is not None and gap["significant"]  # the examples have one: mobile web
            seg, pair = (
                N.segment(gap["segment_by"], gap["segment"]),
                N.pair(gap["from_step"], gap["step"]),
            )
            conv, short = fmt(gap["segment_conversion"], "pct"), fmt(gap["shortfall"])
            card = cards[t("funnel.cards.gap")]
            assert card["value"] == seg and pair in card["note"] and conv in card["note"]
            said = [f for f in finds if seg in f and pair in f]
            assert len(said) == 1 and conv in said[0] and short in said[0]
            assert seg in pg["actions"] and pair in pg["actions"] and short in pg["actions"]
            assert fmt(gap["p_adjusted"], "p_value") in said[0]
            assert f"{t('funnel.cards.gap')}: {seg}" in pg["index"]
            return
        pair = N.pair(figs["bottleneck_from_step"], neck)
        b = figs["bottleneck"]
        sc = fmt(b["step_conversion"], "pct")
        card = cards[t("funnel.cards.bottleneck")]
        assert card["value"] == pair and sc in card["note"]
        assert pair in finds[1] and sc in finds[1] and pair in pg["actions"]
        assert f"{t('funnel.cards.bottleneck')}: {pair}" in pg["index"]
        row = next(r for r in step_rows if r[0] == N.step(neck))
        assert row[2] == sc  # the steps table's step conversion
        i = [s["step"] for s in steps].index(neck)
        assert b["step_conversion"] == pytest.approx(steps[i]["step_conversion"])
        marked = [r for r in pg["tables"][1] if r[-1] == "◀"]  # the comparison table
        assert [r[0] for r in marked] == [pair] and marked[0][1] == sc
        seg = N.segment(b["segment_by"], figs["bottleneck_segment"])
        assert cards[t("funnel.cards.segment")]["value"] == seg
        short = fmt(b["shortfall"])
        assert (
            seg in finds[2]
            and short in finds[2]
            and seg in pg["actions"]
            and short in pg["actions"]
        )
        assert fmt(b["segment_conversion"], "pct") in cards[t("funnel.cards.segment")]["note"]
        assert f"{t('funnel.cards.segment')}: {seg}" in pg["index"]


# words a zh report may show in Latin letters: acronyms, method and tool names, names of tables
ZH_LATIN = {"GMV", "UV", "AOV", "ROAS", "CAC", "CRM", "CN", "UTC", "PostHog", "Amplitude"}
ZH_LATIN |= {"Mixpanel", "Wilson", "z", "p", "ID"}


@pytest.mark.e2e
@pytest.mark.parametrize(
    "name",
    ["december_vs_october_en", "december_vs_october_zh", "q4_sessions_zh_en", "q4_sessions_zh_zh"],
)
def test_report_words(funnel_reports, name):
    """No raw value (nan, None, inf, a 0.00 p-value), no internal key with an underscore (event
    names go through the catalog); a zh report shows no English outside the allowed names and
    the title from the params, and calls sessions 会话, never 用户, when it counts sessions."""
    import re

    pg = _page(funnel_reports, name)
    text = pg["text"]
    for bad in (r"\bnan\b", r"\bNone\b", r"\binf\b", r"\b0\.00\b", r"\b[a-z]+_[a-z_]+\b"):
        assert not re.search(bad, text), (bad, re.search(bad, text))
    if name.endswith("_zh"):
        words = set(re.findall(r"[A-Za-z]+", text.replace(pg["title"], "")))
        assert words <= ZH_LATIN, words - ZH_LATIN
        if name.startswith("q4_sessions"):  # the example counts sessions
            assert "会话" in text and "用户" not in text


@pytest.mark.parametrize("mode", ["ordered", "strict"])
def test_the_walks_statements_are_counted(tmp_path, mode):
    """Every statement the walk sends (tables kept in the engine, not only results fetched) is
    counted in the source's queries, with the rows its scans read: at least the log's rows, read
    once to keep the events in the engine."""
    rows = [(f"u{i}", m, e) for i in range(6) for m, e in enumerate(STEPS[: 1 + i % 5])]
    src = log(tmp_path, rows)
    spec = F.FunnelSpec(STEPS, mode=mode)
    F.unit_steps(src, spec, D0, D0, "channel")  # keeps tables in the engine, fetches nothing
    got = src.query_counts()
    assert got["queries"] >= 2 and got["queries_rows_unknown"] == 0
    assert got["rows_read"] >= len(rows)
