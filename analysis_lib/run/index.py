"""``reports/index.html``: every report, its status, when it ran, how long it took, its headline
figures. Static, escaped, no script: it opens from a file share."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from pathlib import Path
from urllib.parse import quote

from analysis_lib.core.metrics import METRICS
from analysis_lib.core.metrics import label as metric_label
from analysis_lib.errors import RunError
from analysis_lib.present.blocks import esc
from analysis_lib.present.numbers import fmt
from analysis_lib.present.words import catalog


def fmt_metric(key: str, value) -> str:
    """A registry metric formatted by its kind (older results.json without recorded cards)."""
    return fmt(value, METRICS[key].kind, "en")


def header(key: str, lang: str = "en") -> str:
    """The label of a figure of an older results.json: the metric's or the catalog's, else the
    key in words."""
    if key in METRICS:
        return metric_label(key, lang)
    entry = catalog().get(f"labels.{key}")
    if entry:
        return entry[lang]
    acronyms = {"gmv", "aov", "cac", "ltv", "roi", "roas", "uv", "sku", "abc", "id", "p90"}
    words = [w.upper() if w in acronyms else w for w in key.split("_")]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


MAX_FIGURES = 6


def collect(out: str | Path) -> list[dict]:
    """One entry per (notebook, params name): its last good run and its latest failed run."""
    out = Path(out)
    entries: dict[tuple[str, str], dict] = {}
    for res in sorted(out.glob("*/*/results.json")):
        d = res.parent
        if d.name.startswith(".") or d.parent.name.startswith("."):
            continue  # the workbook's own folders: staging areas, logs
        try:
            rec = json.loads(res.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(rec, dict):
            continue
        failed = d.name.endswith(".failed")
        name = d.name.removesuffix(".failed")
        e = entries.setdefault((d.parent.name, name), {"notebook": d.parent.name, "name": name})
        e["failed" if failed else "ok"] = rec
        e["failed_dir" if failed else "ok_dir"] = d
    rows = []
    for e in entries.values():
        ok, bad = e.get("ok"), e.get("failed")
        latest_failed = bad is not None and (
            ok is None or bad.get("started_at", "") >= ok.get("started_at", "")
        )
        e["status"] = "failed" if latest_failed else "ok"
        e["latest"] = bad if latest_failed else ok
        rows.append(e)
    return sorted(rows, key=lambda e: (e["notebook"], e["name"]))


PREFERRED = ["gmv", "orders", "buyers", "aov", "uv", "conversion_rate", "refund_rate"]
SIGNED_WORDS = ("change", "deviation", "uplift", "relative", "growth")

PCT_WORDS = (
    "change",
    "deviation",
    "mde",
    "margin",
    "share",
    "rate",
    "conversion",
    "achievement",
    "p_reach",
    "prob",  # posterior_prob_causal_effect
    "uplift",
    "growth",
    "relative",
    "roi",
    "cr3",
    "cr5",
)


def _value(key: str, v) -> str | None:
    if isinstance(v, dict) and "estimate" in v:
        v = v["estimate"]
    if isinstance(v, str):
        return v
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    if key in METRICS:
        return fmt_metric(key, v)
    if any(w in key for w in PCT_WORDS):
        return fmt(v, "signed_pct" if any(w in key for w in SIGNED_WORDS) else "pct")
    if float(v).is_integer():
        return fmt(v, "count")
    return fmt(v, "ratio") if abs(v) < 100 else fmt(v, "money")


def _headline(figs: dict, keys: list[str] | None = None, shown: dict | None = None) -> str:
    """The figures a report names as its headline, as the report's cards show them (label and
    text recorded by the report: the index never formats a figure a second time); for an older
    results.json without them, the preferred KPIs and other numbers formatted here."""
    shown = shown or {}
    if keys and all(k in shown for k in keys):
        # a figure the shop's data cannot give (recorded as null) is left out, not shown as n/a
        keys = [k for k in keys if not (k in figs and figs[k] is None)]
        return " · ".join(
            f"{esc(shown[k]['label'])}: {esc(shown[k]['text'])}" for k in keys[:MAX_FIGURES]
        )
    keys = keys or [k for k in PREFERRED if k in figs] + [k for k in figs if k not in PREFERRED]
    parts = []
    for k in keys:
        shown_text = _value(k, figs.get(k))
        if shown_text is not None:
            name = header(k, "en")
            parts.append(f"{esc(name)}: {esc(shown_text)}")
        if len(parts) >= MAX_FIGURES:
            break
    return " · ".join(parts)


def _alerts(rec: dict | None) -> str:
    """The alerts of a report's last run (issue 21), with what became of them: ``Alerts: 2
    (1 sent, 1 not re-sent: quiet period)``; nothing for a report without alerts."""
    a = (rec or {}).get("alerts") or {}
    recs = a.get("records") if isinstance(a, dict) else None
    if not isinstance(recs, list):
        return ""
    if not recs:
        return " · Alerts: none"
    delivery = a.get("delivery") if isinstance(a.get("delivery"), dict) else {}
    words = {
        "delivered": "sent",
        "suppressed": "not re-sent: quiet period",
        "failed": "delivery failed",
        # a delivery that is set but found no destination (a variable not set) is not "none"
        "not_sent": "not sent: no destination"
        if delivery.get("set") and not delivery.get("ready")
        else "no delivery",
    }
    counts: dict[str, int] = {}
    for r in recs:
        st = r.get("status", "not_sent") if isinstance(r, dict) else "not_sent"
        counts[st] = counts.get(st, 0) + 1
    detail = ", ".join(f"{n} {words.get(k, k)}" for k, n in counts.items())
    return f" · <strong>Alerts: {len(recs)}</strong> ({esc(detail)})"


def render(out: str | Path) -> str:
    """The index page's HTML."""
    out = Path(out)
    rows = []
    for e in collect(out):
        ok, latest = e.get("ok"), e["latest"]
        title = (ok or latest).get("title", e["name"])
        if ok:
            # a file name may hold '#', '%', spaces or any script: encoded in the link, escaped
            href = f"{quote(e['notebook'])}/{quote(e['name'])}/report.html"
            link = f'<a href="{esc(href)}">{esc(title)}</a>'
        else:
            link = esc(title)
        status = "ok" if e["status"] == "ok" else "FAILED"
        note = ""
        if e["status"] == "failed":
            note = esc(latest.get("error", ""))
            if ok:
                note += f" — last good report: {esc(ok.get('started_at', ''))}"
        dq = (ok or {}).get("figures", {}).get("data_quality")
        if isinstance(dq, dict) and dq.get("checks"):
            w = int(dq.get("warnings", 0))
            dq_cell = (
                f"{dq['checks']} check{'s' if dq['checks'] > 1 else ''} passed"
                if not w
                else f"{w} warning{'s' if w > 1 else ''} ({int(dq.get('rows', 0)):,} rows)"
            )
        else:
            dq_cell = ""
        dq_class = "warn" if "warning" in dq_cell else ""
        dur = latest.get("duration_s")
        ran = str(latest.get("started_at", ""))[:16].replace("T", " ")
        rows.append(
            f'<tr class="{"bad" if status == "FAILED" else "good"}"><td>{esc(e["notebook"])}</td><td>{link}</td>'
            f'<td>{status}</td><td class="nowrap">{esc(ran)}</td>'
            f'<td class="nowrap">{esc(fmt(dur, "ratio")) if dur is not None else ""} s</td>'
            f"<td>{_headline((ok or {}).get('figures', {}), (ok or {}).get('headline'), (ok or {}).get('shown'))}{_alerts(ok)}</td>"
            f'<td class="{dq_class}">{esc(dq_cell)}</td><td>{note}</td></tr>'
        )
    body = "".join(rows) or '<tr><td colspan="8">No reports yet.</td></tr>'
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Operations workbook — reports</title>
<style>
body {{ font-family: "Segoe UI", Helvetica, Arial, "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", sans-serif; margin: 2rem auto; max-width: 1200px; color: #0f172a; }}
table {{ border-collapse: collapse; width: 100%; font-size: 0.9rem; }}
th, td {{ padding: 0.4rem 0.6rem; border-bottom: 1px solid #e2e8f0; text-align: left; vertical-align: top; }}
tr.bad td {{ background: #fef2f2; }}
td.warn {{ color: #b45309; }}
td.nowrap {{ white-space: nowrap; }}  /* a run's date and time, a duration: one line each */
th {{ background: #f1f5f9; }}
</style></head><body>
<h1>Operations workbook — reports</h1>
<table><thead><tr><th>Notebook</th><th>Report</th><th>Status</th><th>Ran at (UTC)</th><th>Duration</th>
<th>Headline figures</th><th>Data quality</th><th>Note</th></tr></thead><tbody>{body}</tbody></table>
</body></html>
"""


def write(out: str | Path) -> Path:
    """Write ``<out>/index.html`` atomically and return its path.

    The file gets the umask's permissions (0644 under umask 022: others on the file share can
    read it; ``mkstemp`` would make it 0600). Any failure (disk full, read-only folder) is one
    line, :class:`RunError`, and leaves neither a temp file nor a changed index behind."""
    out = Path(out)
    target = out / "index.html"
    tmp = out / f".index-{os.getpid()}-{secrets.token_hex(4)}.html"
    try:
        out.mkdir(parents=True, exist_ok=True)
        html = render(out).encode("utf-8")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(html)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise RunError(f"{target}: cannot write the index: {exc.strerror or exc}") from None
    return target
