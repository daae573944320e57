"""The funnel's stated semantics walked unit by unit in plain Python: the reference the engine's walk
is checked against (tests/test_funnel*.py). Deliberately naive: strict mode tries every order of
the events that share an instant instead of reasoning about them."""

from __future__ import annotations

import itertools
from collections import defaultdict

import pandas as pd


def _ordered(steps_at, t0, k, win):
    """Times of the steps reached from an entry at t0: each step at its first instant at or after
    the previous step's, within the window."""
    times = [t0]
    for c in range(1, k):
        nxt = [t for t in steps_at[c] if t >= times[-1]]
        if not nxt or min(nxt) > t0 + win:
            break
        times.append(min(nxt))
    return [tuple(times)]


def _any_order(steps_at, t0, k, win):
    """Step i is reached when steps 2..i each happened in [t0, t0 + window]; at the latest of
    their first instants there."""
    times, latest = [t0], t0
    for c in range(1, k):
        inside = [t for t in steps_at[c] if t0 <= t <= t0 + win]
        if not inside:
            break
        latest = max(latest, min(inside))
        times.append(latest)
    return [tuple(times)]


def _strict(groups, gi0, k, win):
    """Every outcome (times of the steps reached) of a strict chain entered in group ``gi0``, over
    every order of the events within each instant: the chain is a run of consecutive events of the
    unit, the entry one of the step-1 events of its instant."""
    t0 = groups[gi0][0]
    out = set()

    def walk(gi, times):
        # the chain has consumed every event of the groups before gi that come after the entry
        if gi >= len(groups) or groups[gi][0] > t0 + win:
            out.add(tuple(times))
            return
        at, codes = groups[gi]
        for perm in set(itertools.permutations(codes)):
            got = list(times)
            n = 0
            while n < len(perm) and len(got) < k and perm[n] == len(got):
                got.append(at)
                n += 1
            if n == len(perm):
                walk(gi + 1, got)
            else:
                out.add(tuple(got))

    at, codes = groups[gi0]
    for perm in set(itertools.permutations(codes)):
        for p, c in enumerate(perm):
            if c != 0:
                continue
            got = [at]
            n = p + 1
            while n < len(perm) and len(got) < k and perm[n] == len(got):
                got.append(at)
                n += 1
            if n == len(perm):
                walk(gi0 + 1, got)
            else:
                out.add(tuple(got))
    return sorted(out)


def reference(ev: pd.DataFrame, spec, lo, hi) -> tuple[dict, dict]:
    """``ev``: one row per event with ``unit``, ``event``, ``inst`` (UTC instant, integer
    microseconds), ``wall`` (shop wall clock) and ``channel``. ``spec``: a FunnelSpec.
    Returns unit -> (steps reached, entry instant, channel of the entry event) for the units
    counted, and (unit, entry day) -> steps reached counting every entry (whatever the entry)."""
    k = len(spec.steps)
    win = spec.window_us
    code = {s: i for i, s in enumerate(spec.steps)}
    out, per_day = {}, {}
    for unit, g in ev.groupby("unit"):
        g = g.sort_values("inst")
        steps_at, at_of = defaultdict(list), defaultdict(list)
        for e, t in zip(g.event, g.inst, strict=True):
            at_of[e].append(t)
            if e in code:
                steps_at[code[e]].append(t)
        ent = g[(g.event == spec.steps[0]) & (g.wall >= lo) & (g.wall < hi)]
        if ent.empty:
            continue
        t_entries = sorted(set(ent.inst))
        if spec.mode == "strict":
            groups = [
                (t, [code.get(e, -1) for e in gg.event]) for t, gg in g.groupby("inst", sort=True)
            ]
            index = {t: i for i, (t, _) in enumerate(groups)}
        chains = []
        for t0 in t_entries:
            if spec.mode == "ordered":
                outs = _ordered(steps_at, t0, k, win)
            elif spec.mode == "any_order":
                outs = _any_order(steps_at, t0, k, win)
            else:
                outs = _strict(groups, index[t0], k, win)
            for times in outs:
                excluded = False
                for x in spec.exclusions:
                    if len(times) <= x.from_step:
                        continue
                    t_from = times[x.from_step]
                    for t in at_of[x.event]:
                        if t <= t_from:
                            continue
                        if (t < times[x.to_step]) if len(times) > x.to_step else (t <= t0 + win):
                            excluded = True
                chains.append((t0, len(times), excluded))
        day = dict(zip(ent.inst, ent.wall.dt.normalize(), strict=False))
        groups_of = defaultdict(list)
        for t0, r, x in chains:
            groups_of[(unit, day[t0])].append((t0, r, x))
            if spec.entry == "any" or t0 == t_entries[0]:
                groups_of[unit].append((t0, r, x))
        for key, cs in groups_of.items():
            best = max(r for _, r, _ in cs)
            t0, r, x = min((c for c in cs if c[1] == best), key=lambda c: (c[2], c[0]))
            if x:
                continue
            if key == unit:
                out[key] = (r, t0, min(ent[ent.inst == t0].channel))
            else:
                per_day[key] = r
    return out, per_day
