"""Cases from PostHog's own funnel tests (posthog/hogql_queries/insights/funnels/test/:
test_funnel.py, test_funnel_udf.py, test_funnel_strict.py), translated where PostHog's semantics
are ours, with PostHog's expected counts. PostHog numbers steps from 0 (``funnel_from_step``); an
:class:`Exclusion` takes the same 0-based indices. PostHog's default window is 14 days; events
created without a time in PostHog's tests come one second apart here, in the order written."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis_lib.analyses import funnel as F
from analysis_lib.core import data

DAY = 86400
X = F.Exclusion


def run(tmp_path, events, steps, window=14 * DAY, **kw):
    """``events``: (person, time text or None for 'one second after the last', event[, browser]).
    Returns the counts per step and the persons at each step."""
    rows, t = [], pd.Timestamp("2021-05-01 00:00:00")
    for e in events:
        t = pd.Timestamp(e[1]) if e[1] is not None else t + pd.Timedelta(seconds=1)
        rows.append((e[0], t, e[2], e[3] if len(e) > 3 else "Chrome"))
    df = pd.DataFrame(rows, columns=["user_id", "event_ts", "event", "browser"])
    df.to_parquet(tmp_path / "events.parquet")
    src = data.connect(str(tmp_path))
    spec = F.FunnelSpec(tuple(steps), window=window, **kw)
    start, end = df.event_ts.min().date(), df.event_ts.max().date()
    counts = F.funnel(src, spec, start, end)["units"].tolist()
    us = src.execute(F.unit_steps(src, spec, start, end).select("unit", "steps_reached"))
    at = [sorted(us.unit[us.steps_reached > i]) for i in range(len(steps))]
    return counts, at, src, spec, start, end


def test_funnel_conversion_window(tmp_path):
    """test_funnel_conversion_window: 7 days; a second step 9 days later does not count."""
    ev = [(f"user_{i}", "2021-05-01 00:00:00", "step one") for i in range(25)]
    ev += [(f"user_{i}", "2021-05-02 00:00:00", "step two") for i in range(10)]
    ev += [(f"user_{i}", "2021-05-10 00:00:00", "step two") for i in range(10, 25)]
    counts, *_ = run(tmp_path, ev, ["step one", "step two", "step three"], 7 * DAY)
    assert counts == [25, 10, 0]


def test_funnel_conversion_window_seconds(tmp_path):
    """test_funnel_conversion_window_seconds: 15 seconds; 10 s counts, 20 s does not."""
    ev = [(f"user_{i}", "2021-05-01 00:00:00", "step one") for i in range(25)]
    ev += [(f"user_{i}", "2021-05-01 00:00:10", "step two") for i in range(10)]
    ev += [(f"user_{i}", "2021-05-01 00:00:20", "step two") for i in range(10, 25)]
    counts, *_ = run(tmp_path, ev, ["step one", "step two", "step three"], 15)
    assert counts == [25, 10, 0]


SIGNUP_PAID = [
    ("person1", "2021-05-01 01:00:00", "user signed up"),
    ("person1", "2021-05-01 02:00:00", "paid"),
    ("person2", "2021-05-01 03:00:00", "user signed up"),
    ("person2", "2021-05-01 03:30:00", "x"),
    ("person2", "2021-05-01 04:00:00", "paid"),
    ("person3", "2021-05-01 05:00:00", "user signed up"),
    ("person3", "2021-05-01 06:00:00", "paid"),
]


def test_funnel_exclusions_full_window(tmp_path):
    """test_funnel_exclusions_full_window: person2 did x between the steps."""
    counts, at, *_ = run(tmp_path, SIGNUP_PAID, ["user signed up", "paid"], exclusions=(X("x"),))
    assert counts == [2, 2] and at[1] == ["person1", "person3"]


def test_funnel_exclusion_no_end_event(tmp_path):
    """test_funnel_exclusion_no_end_event (1-day window): person3 did x then nothing, within the
    window: removed; person4 did x after the window: stays at step 1."""
    ev = SIGNUP_PAID[:5] + [
        ("person3", "2021-05-01 05:00:00", "user signed up"),
        ("person3", "2021-05-01 06:00:00", "x"),
        ("person4", "2021-05-01 07:00:00", "user signed up"),
        ("person4", "2021-05-02 08:00:00", "x"),
    ]
    counts, at, *_ = run(tmp_path, ev, ["user signed up", "paid"], DAY, exclusions=(X("x", 0, 1),))
    assert counts == [2, 1] and at[0] == ["person1", "person4"] and at[1] == ["person1"]


@pytest.mark.parametrize(
    "times, expected",
    [
        # test_funnel_exclusion_multiple_possible_no_end_event1: the later entry has no exclusion
        ((("step one", 0), ("exclusion", 1), ("step one", 31)), [1, 0]),
        # ...event2: the first entry's window ends before the exclusion
        ((("step one", 0), ("step one", 31), ("exclusion", 32)), [1, 0]),
        # ...event3: both entries have the exclusion in their window: removed
        ((("step one", 0), ("step one", 1), ("exclusion", 2)), [0, 0]),
        # test_funnel_udf.py test_excluded_after_time_expires
        ((("step one", 0), ("exclusion", 11), ("step two", 12)), [1, 0]),
    ],
)
def test_funnel_exclusion_multiple_possible_no_end_event(tmp_path, times, expected):
    """10-second window, exclusion between steps 0 and 1."""
    t0 = pd.Timestamp("2021-05-01")
    ev = [("user_one", str(t0 + pd.Timedelta(seconds=s)), e) for e, s in times]
    counts, *_ = run(tmp_path, ev, ["step one", "step two"], 10, exclusions=(X("exclusion", 0, 1),))
    assert counts == expected


FIVE = ["user signed up", "$pageview", "insight viewed", "invite teammate", "pageview2"]


def _five(person, xs, pageview="02:00"):
    """A person doing the five steps at 01:00, ``pageview``, 04:00, 05:00, 06:00, and the events
    ``xs`` ((time, event), times on 1 May 2021)."""
    times = ("01:00", pageview, "04:00", "05:00", "06:00")
    return [(person, f"2021-05-01 {t}:00", s) for t, s in zip(times, FIVE, strict=True)] + [
        (person, f"2021-05-01 {t}:00", e) for t, e in xs
    ]


ADVANCED = (
    _five("person1", [("03:00", "x"), ("04:30", "x"), ("05:30", "x")])
    + _five("person2", [("04:30", "x"), ("05:30", "x")])
    + _five("person3", [("01:30", "x"), ("05:30", "x")])
)


@pytest.mark.parametrize(
    "between, counts, first_step",
    [
        ((0, 1), [2, 2], ["person1", "person2"]),
        ((1, 2), [2, 2], ["person2", "person3"]),
        ((2, 3), [1, 1], ["person3"]),
        ((3, 4), [0, 0], []),
        ((1, 3), [1, 1], ["person3"]),
    ],
)
def test_advanced_funnel_exclusions_between_steps(tmp_path, between, counts, first_step):
    """test_advanced_funnel_exclusions_between_steps: step 1 and step 5 counts and who enters."""
    ev = sorted(ADVANCED, key=lambda e: (e[0], e[1]))
    got, at, *_ = run(tmp_path, ev, FIVE, exclusions=(X("x", *between),))
    assert [got[0], got[4]] == counts and at[0] == first_step


def test_advanced_funnel_multiple_exclusions_between_steps(tmp_path):
    """test_advanced_funnel_multiple_exclusions_between_steps: only person4 stays, however the
    two exclusions are placed."""
    ev = (
        _five("person1", [("02:00", "x"), ("04:30", "y")], pageview="03:00")
        + _five("person2", [("01:30", "y"), ("04:30", "y"), ("05:30", "x")])
        + _five("person3", [("01:30", "x"), ("05:30", "x")])
        + _five("person4", [])
    )
    ev = sorted(ev, key=lambda e: (e[0], e[1]))
    for ex in (
        (X("x", 0, 1), X("y", 2, 3)),
        (X("x", 0, 1), X("y", 0, 1)),
        (X("x", 0, 4), X("y", 0, 4)),
    ):
        got, at, *_ = run(tmp_path, ev, FIVE, exclusions=ex)
        assert [got[0], got[4]] == [1, 1] and at[0] == ["person4"], ex


def test_basic_strict_funnel(tmp_path):
    """test_basic_strict_funnel: 7 enter, 2 view a page right after signing up, 1 then views an
    insight right after."""
    people = {
        "stopped_after_signup1": ["user signed up"],
        "stopped_after_pageview1": ["$pageview", "user signed up"],
        "stopped_after_insightview": [
            "user signed up",
            "$pageview",
            "blaah blaa",
            "insight viewed",
        ],
        "stopped_after_insightview2": [
            "insight viewed",
            "blaah blaa",
            "$pageview",
            "user signed up",
        ],
        "stopped_after_insightview3": [
            "$pageview",
            "user signed up",
            "blaah blaa",
            "$pageview",
            "insight viewed",
        ],
        "person6": ["blaah blaa", "user signed up", "blaah blaa", "$pageview"],
        "person7": ["blaah blaa", "user signed up", "$pageview", "insight viewed", "blaah blaa"],
        "stopped_after_insightview6": ["insight viewed", "$pageview"],
    }
    ev = [(p, None, e) for p, es in people.items() for e in es]
    steps = ["user signed up", "$pageview", "insight viewed"]
    counts, at, *_ = run(tmp_path, ev, steps, mode="strict")
    assert counts[0] == 7
    assert at[1] == ["person7", "stopped_after_insightview"] and at[2] == ["person7"]


def test_strict_breakdown_events_with_multiple_properties(tmp_path):
    """test_strict_breakdown_events_with_multiple_properties: by browser, Chrome's person did
    something between the steps."""
    ev = [
        ("person1", "2020-01-01 12:00:00", "sign up", "Chrome"),
        ("person1", "2020-01-01 13:00:00", "blah", "Chrome"),
        ("person1", "2020-01-01 14:00:00", "play movie", "Chrome"),
        ("person2", "2020-01-02 13:00:00", "sign up", "Safari"),
        ("person2", "2020-01-02 14:00:00", "play movie", "Safari"),
    ]
    _, _, src, spec, start, end = run(
        tmp_path, ev, ["sign up", "play movie"], 7 * DAY, mode="strict"
    )
    by = F.counts(src, spec, start, end, "browser")
    assert by.loc["Safari"].tolist() == [1, 1] and by.loc["Chrome"].tolist() == [1, 0]
    tt, _ = F.time_to_convert(src, spec, start, end)
    assert tt["median_s"].tolist() == [3600]  # PostHog's median_conversion_time
