"""Funnel semantics on a hand-built event log, step counts against pandas, the planted leak."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from analysis_lib import data
from analysis_lib import funnel as F

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
            ("u3", 5, "remove_from_cart"),  # after its last step: stays
        ],
    )
    spec = F.FunnelSpec(
        ("page_view", "product_view", "add_to_cart"), exclusions=("remove_from_cart",)
    )
    assert reached(src, spec) == {"u2": 3, "u3": 1}


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
    assert reached(src, F.FunnelSpec(steps, mode="strict")) == {"u1": 3, "u2": 1, "u3": 2}
    assert reached(src, F.FunnelSpec(steps, mode="ordered")) == {"u1": 3, "u2": 3, "u3": 3}


def test_breakdown_takes_entry_value(tmp_path):
    src = log(tmp_path, [("a1", 0, "page_view"), ("a1", 1, "product_view"), ("o1", 0, "page_view")])
    bt = F.breakdown_table(src, F.FunnelSpec(("page_view", "product_view")), D0, D0, "channel")
    assert bt.loc["ads", "page_view → product_view"] == 1.0
    assert bt.loc["organic", "page_view → product_view"] == 0.0


def pandas_funnel(folder, steps, start, end, window_days=7) -> list[int]:
    """Independent implementation: per user, walk the steps in time order."""
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
    got = F.funnel(src, F.FunnelSpec(STEPS), start, end)["units"].tolist()
    assert got == pandas_funnel(sample_dir, STEPS, start, end)


def test_planted_leak_is_the_bottleneck(sample_dir, truth):
    src = data.connect(str(sample_dir))
    spec = F.FunnelSpec(STEPS)
    cur = F.funnel(src, spec, dt.date(2025, 12, 1), dt.date(2025, 12, 31))
    prev = F.funnel(src, spec, dt.date(2025, 10, 1), dt.date(2025, 10, 31))
    cmp = F.compare_periods(cur, prev)
    bt = F.breakdown_table(src, spec, dt.date(2025, 12, 1), dt.date(2025, 12, 31), "device")
    neck = F.bottleneck(cmp, bt)
    leak = truth["funnel"]["leak"]
    a, b = leak["step"].split("->")
    assert (neck["from_step"], neck["step"]) == (a, b)
    assert neck["p_value"] < 0.01
    assert neck["worst_segment"] == leak["device"]
    assert neck["worst_segment_conversion"] / neck["others_conversion"] == pytest.approx(
        leak["mult"], abs=0.2
    )


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


def reference_reached(ev: pd.DataFrame, spec: F.FunnelSpec, lo, hi) -> dict[str, tuple[int, str]]:
    """The stated semantics walked unit by unit in plain Python (timestamps are distinct):
    unit -> (steps reached, channel of the entry event)."""
    win = pd.Timedelta(days=spec.window_days)
    ev = ev[(ev.event_ts >= lo) & (ev.event_ts < hi + win)].sort_values("event_ts")
    out = {}
    for unit, g in ev.groupby(spec.unit_col):
        rows = list(g.itertuples(index=False))
        entries = [i for i, r in enumerate(rows) if r.event == spec.steps[0] and r.event_ts < hi]
        if not entries:
            continue
        i0 = entries[0]
        t1 = rows[i0].event_ts
        times = [t1]
        if spec.mode == "ordered":
            for s in spec.steps[1:]:
                nxt = [
                    r.event_ts for r in rows if r.event == s and times[-1] <= r.event_ts <= t1 + win
                ]
                if not nxt:
                    break
                times.append(min(nxt))
        else:
            for j, s in enumerate(spec.steps[1:], start=1):
                if i0 + j >= len(rows):
                    break
                r = rows[i0 + j]
                if r.event != s or r.event_ts > t1 + win:
                    break
                times.append(r.event_ts)
        if any(r.event in spec.exclusions and t1 < r.event_ts < times[-1] for r in rows):
            continue
        out[unit] = (len(times), rows[i0].channel)
    return out


@pytest.mark.parametrize(
    "mode,unit,exclusions",
    [
        ("ordered", "user", ()),
        ("ordered", "session", ()),
        ("ordered", "user", ("remove_from_cart",)),
        ("strict", "user", ()),
        ("strict", "session", ("remove_from_cart",)),
    ],
)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_logs_match_a_reference(tmp_path, mode, unit, exclusions, seed):
    """Random event logs (other events, exclusions, sessions, events before the period and after
    its window) give the steps a unit-by-unit walk of the stated semantics gives."""
    rng = np.random.default_rng(seed)
    steps = ("page_view", "product_view", "add_to_cart", "checkout")
    names = [*steps, "search", "remove_from_cart"]
    n = 3000
    users = rng.integers(0, 150, n)
    # distinct whole seconds from 3 days before the period to 6 days after it
    secs = rng.choice(np.arange(-3 * 86400, 16 * 86400), n, replace=False)
    # early steps more common, so that some units get far
    event = rng.choice(names, n, p=[0.3, 0.25, 0.18, 0.12, 0.1, 0.05])
    ev = pd.DataFrame(
        {
            "event_ts": pd.Timestamp("2025-03-01") + pd.to_timedelta(secs, unit="s"),
            "user_id": [f"u{u:03d}" for u in users],
            "event": event,
            # sessions: a user's events split by day; some events without a session
            "session_id": [
                None if rng.random() < 0.05 else f"u{u:03d}-{s // 86400}"
                for u, s in zip(users, secs, strict=True)
            ],
            "channel": rng.choice(["ads", "organic", "social"], n),
        }
    )
    ev.to_parquet(tmp_path / "events.parquet")
    src = data.connect(str(tmp_path))
    spec = F.FunnelSpec(steps, window_days=2.5, mode=mode, unit=unit, exclusions=exclusions)
    start, end = dt.date(2025, 3, 1), dt.date(2025, 3, 10)
    want = reference_reached(
        ev, spec, pd.Timestamp(start), pd.Timestamp(end) + pd.Timedelta(days=1)
    )
    us = src.execute(F.unit_steps(src, spec, start, end).select("unit", "steps_reached"))
    got = dict(zip(us["unit"], us["steps_reached"], strict=True))
    assert got == {u: r for u, (r, _) in want.items()}
    assert max(got.values()) >= 3  # the log exercises more than the first steps
    by = F.counts(src, spec, start, end, "channel")
    ref = pd.DataFrame([(c, r) for r, c in want.values()], columns=["channel", "reached"])
    for i, s in enumerate(steps):
        expect = ref[ref.reached >= i + 1].groupby("channel").size()
        assert by[s].to_dict() == expect.reindex(by.index, fill_value=0).to_dict()
    # a run's first breakdown rides on the walk, later ones are joined on: the same counts
    for b in ("channel", "new_vs_returning"):
        first = F.counts(data.connect(str(tmp_path)), spec, start, end, b)
        pd.testing.assert_frame_equal(first, F.counts(src, spec, start, end, b))
