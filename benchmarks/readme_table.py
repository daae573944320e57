"""Regenerate the README's performance table from the benchmarks' JSON lines.

    python benchmarks/readme_table.py --data data/m            # run the benchmarks, print the table
    python benchmarks/readme_table.py --data data/m --write    # ... and replace it in README.md
    python benchmarks/readme_table.py --from lines.jsonl --write   # from lines already collected

Runs each script of ``SCRIPTS`` with ``--data DIR --json`` (one after the other, never two at
once: they would share the 2 cores), keeps every line that is a question's JSON record
(``_common.emit``) and writes one row per question: the engine's time and its ratio to the limit
(the best hand-written DuckDB SQL of ``benchmarks/sql/``, timed in the same run), Polars, pandas,
peak memory, whether all sides gave the same figures. The machine's load (``uptime``) before and
after the runs goes under the table: absolute seconds on a shared machine mean little without it,
the ratios measured side by side in one run do.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
README = HERE.parent / "README.md"
SCRIPTS = ["funnel.py", "shop.py"]
START, END = "<!-- perf-table:start -->", "<!-- perf-table:end -->"
LABELS = {
    "funnel": "5-step funnel by device (entry any, ordered, 7-day window)",
    "cohorts": "monthly cohorts (buyers, GMV, in or after, first repeat)",
    "ab_stats": "A/B sufficient statistics of the shop's experiment",
}


def load_text() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f}, {five:.2f}, {fifteen:.2f}"


def run_scripts(data: str, repeat: int | None) -> list[dict]:
    records = []
    for script in SCRIPTS:
        cmd = [sys.executable, str(HERE / script), "--data", data, "--json"]
        if repeat:
            cmd += ["--repeat", str(repeat)]
        r = subprocess.run(cmd, capture_output=True, text=True, cwd=HERE.parent)
        found = parse(r.stdout)
        if r.returncode != 0 or not found:
            print(f"{script}: no JSON lines (exit {r.returncode}): {r.stderr.strip()[-300:]}")
        records += found
    return records


def parse(text: str) -> list[dict]:
    """The questions' JSON records among a script's output lines."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(rec, dict) and "question" in rec and "engine_s" in rec:
            out.append(rec)
    return out


def _s(v) -> str:
    return "" if v is None else f"{v:.3f} s"


def _x(v, limit) -> str:
    return "" if v is None or not limit else f" ({v / limit:.2f}×)"


def table(records: list[dict], data: str, loads: tuple[str, str]) -> str:
    rows = [
        "| question | ours | best hand-written DuckDB SQL | Polars | pandas | peak | same figures |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in records:
        lim = r.get("limit_s")
        peak = "" if r.get("peak_mib") is None else f"{r['peak_mib']:,} MiB"
        rows.append(
            f"| {LABELS.get(r['question'], r['question'])} (`{r['question']}`) "
            f"| {_s(r.get('engine_s'))}{_x(r.get('engine_s'), lim)} | {_s(lim)} "
            f"| {_s(r.get('polars_s'))}{_x(r.get('polars_s'), lim)} "
            f"| {_s(r.get('pandas_s'))}{_x(r.get('pandas_s'), lim)} | {peak} "
            f"| {'yes' if r.get('same_figures') else 'no'} |"
        )
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    rows += [
        "",
        f"Data `{data}`; medians of repeats in one process per script, ratios to the hand-written "
        f"SQL in brackets; load average (1, 5, 15 min) {loads[0]} before and {loads[1]} after "
        f"the runs on 2 cores ({when}). Regenerate: `python benchmarks/readme_table.py "
        f"--data {data} --write`.",
    ]
    return "\n".join(rows)


def write(readme: Path, text: str) -> None:
    body = readme.read_text(encoding="utf-8")
    if START not in body or END not in body:
        raise SystemExit(f"{readme}: no {START} ... {END} block to replace")
    head, rest = body.split(START, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(f"{head}{START}\n{text}\n{END}{tail}", encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="data/m")
    ap.add_argument("--repeat", type=int, default=None, help="passed to each script")
    ap.add_argument("--from", dest="files", nargs="*", help="JSON lines already collected")
    ap.add_argument("--write", action="store_true", help=f"replace the table in {README.name}")
    a = ap.parse_args()
    before = load_text()
    if a.files:
        records = [r for f in a.files for r in parse(Path(f).read_text())]
    else:
        records = run_scripts(a.data, a.repeat)
    text = table(records, a.data, (before, load_text()))
    print(text)
    if a.write:
        write(README, text)


if __name__ == "__main__":
    main()
