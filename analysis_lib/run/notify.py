"""Delivering a report's alerts (issue 21), after the report is published.

The quiet period is decided before the report is rendered, so the report, results.json and the
message agree: the runner reads what the last report of the same params sent (``alerts.state``
of its results.json, :func:`last_state`) and passes it to the notebook (its ``alerts_sent``
parameter); the notebook marks each alert ``to_send`` or ``suppressed`` (the same ongoing alert,
same KPI, series and direction or the same rule, sent at most ``quiet_days`` days before; with
``sent_on``, :func:`analysis_lib.analyses.alerts.quiet`), shows it in the report and records it in
results.json (``figures.alerts``: ``records``, ``sent_before``). After the atomic swap the runner
calls :func:`deliver`, which

1. reads the records results.json holds and sends exactly those marked ``to_send`` (one source
   of truth: nothing is decided here);
2. sends them through Apprise (e-mail, DingTalk, WeCom, Feishu/Lark, Slack, Teams, a JSON
   webhook...: one URL each) in the report's language: a subject with the worst severity, one line
   per alert (its value against the expected range, the probability under the model, the likely
   driver), the report attached to e-mail and linked otherwise;
3. writes each alert's status (``delivered``, ``suppressed``, ``failed``, ``not_sent``) and the
   new state into the published results.json (``alerts``), which the index shows.

The URLs are read at delivery time from where ``delivery:`` points (``env:`` a variable, ``file:``
a file outside params); they hold credentials, so they never reach a report, results.json or a
log: a failure is one line on stderr naming the service (the URL's scheme) only, Apprise's own
logging is silenced, the report stays, and the run still exits 0.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from pathlib import Path
from typing import Any

EMAIL_SCHEMES = ("mailto", "mailtos")


def last_state(report_dir: Path) -> dict[str, str]:
    """The quiet period's state the last report in ``report_dir`` kept: alert key -> the last
    day it was sent (empty when there is no report or it kept none)."""
    try:
        rec = json.loads((report_dir / "results.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    state = (rec.get("alerts") or {}).get("state") or {}
    return {str(k): str(v) for k, v in state.items()} if isinstance(state, dict) else {}


def _resolve(params) -> tuple[list[str], list[dict[str, str]], list[str]]:
    """The Apprise URLs ``delivery:`` points to; for each reference that gave none, what is
    missing (``kind``: ``env`` a variable not set, ``file_unreadable``, ``file_empty``; ``name``
    the variable or file) and a note for stderr. Both name the reference, never a URL."""
    urls: list[str] = []
    missing: list[dict[str, str]] = []
    notes: list[str] = []
    for ref in getattr(params, "delivery", None) or []:
        if ref.env is not None:
            raw = os.environ.get(ref.env, "")
            got = [u for u in re.split(r"[\s,]+", raw) if u]
            if not got:
                missing.append({"kind": "env", "name": ref.env})
                notes.append(f"{ref.env} is not set")
        else:
            try:
                text = Path(ref.file).expanduser().read_text(encoding="utf-8")
            except OSError as exc:
                missing.append({"kind": "file_unreadable", "name": str(ref.file)})
                notes.append(f"cannot read {ref.file}: {exc.strerror or type(exc).__name__}")
                continue
            got = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
            if not got:
                missing.append({"kind": "file_empty", "name": str(ref.file)})
                notes.append(f"{ref.file} holds no URL")
        urls += got
    return urls, missing, notes


def resolve_urls(params) -> tuple[list[str], list[str]]:
    """The Apprise URLs ``delivery:`` points to, and a note for each reference that gave none
    (a variable not set, a file missing): notes name the reference, never a URL."""
    urls, _, notes = _resolve(params)
    return urls, notes


def readiness(params) -> dict[str, Any]:
    """Whether the run can send, for the notebook before it renders (the runner passes it as
    ``alerts_delivery``, so the report says what results.json will record): ``set`` (params
    have a ``delivery:``), ``ready`` (it gives at least one URL) and ``missing`` (what gave none,
    as :func:`_resolve`). Holds no URL: the executed notebook is kept beside the report."""
    urls, missing, _ = _resolve(params)
    return {
        "set": bool(getattr(params, "delivery", None)),
        "ready": bool(urls),
        "missing": missing,
    }


def _scheme(url: str) -> str:
    return url.split("://", 1)[0].lower() if "://" in url else "?"


def message(
    params, recs: list[dict], days: list[str], report: Path, email: bool
) -> tuple[str, str]:
    """The subject and body in the report's language: one line per alert, then the report's
    link (``alerts.report_url``; else its path on this machine), or for e-mail without a link,
    that it is attached."""
    # here on purpose: the words and numbers of the report (present) are needed only to send
    from analysis_lib.present.context import use
    from analysis_lib.present.narrative import kpi_monitor as N

    with use(lang=params.lang, currency=params.currency):
        subject = N.alert_subject(recs, params.title_text, days)
        lines = [f"- {N.alert_sentence(r)}" for r in recs]
        url = params.alerts.report_url if params.alerts is not None else None
        if url:
            tail = N.w("alerts.report_link", url=url)
        elif email:
            tail = N.w("alerts.report_attached")
        else:
            tail = N.w("alerts.report_link", url=str(report.resolve()))
    return subject, "\n".join([*lines, "", tail])


def _send(urls: list[str], params, recs, days, report: Path) -> list[str]:
    """Send to each URL (e-mail with the report attached); the schemes of those that failed."""
    import apprise

    failed = []
    for url in urls:
        ap = apprise.Apprise()
        if not ap.add(url):
            failed.append(_scheme(url))
            continue
        email = _scheme(url) in EMAIL_SCHEMES
        subject, body = message(params, recs, days, report, email)
        try:
            ok = ap.notify(
                title=subject,
                body=body,
                attach=str(report) if email and report.is_file() else None,
            )
        except Exception:  # noqa: BLE001 - a plugin's bug must not fail the run
            ok = False
        if not ok:
            failed.append(_scheme(url))
    return failed


def deliver(params, record: dict[str, Any], report_dir: Path) -> None:
    """Send the alerts results.json marks ``to_send`` (the notebook applied the quiet period),
    and record what happened in the published results.json. Never raises: a failure is one line
    on stderr and the report stays."""
    fig = (record.get("figures") or {}).get("alerts")
    if not fig:
        return
    name = f"{record.get('notebook')}/{record.get('name')}"
    recs = [dict(r) for r in fig.get("records", [])]
    previous = {str(k): str(v) for k, v in (fig.get("sent_before") or {}).items()}
    to_send = [r for r in recs if r.get("status") == "to_send"]
    # marked not_sent by the notebook: delivery set but no destination when the run began (the
    # report says so); never sent here, so the report and results.json agree
    held = [r for r in recs if r.get("status") == "not_sent"]
    urls, notes = resolve_urls(params)
    sent_to: list[str] = []
    if to_send and urls:
        logging.getLogger("apprise").disabled = True  # its messages may quote a URL
        try:
            failed = _send(urls, params, to_send, fig.get("days", []), report_dir / "report.html")
        except Exception as exc:  # noqa: BLE001 - delivery never fails the run
            failed = [f"all ({type(exc).__name__})"]
        ok = len(failed) < len(urls)
        sent_to = sorted({_scheme(u) for u in urls} - set(failed))
        for r in to_send:
            r["status"] = "delivered" if ok else "failed"
        if failed:
            print(
                f"{name}: alerts not delivered to {len(failed)} of {len(urls)} destination(s) "
                f"({', '.join(failed)}); the report is kept",
                file=sys.stderr,
            )
    else:
        for r in to_send:
            r["status"] = "not_sent"
    if held or (to_send and not urls):
        n = len(held) + (len(to_send) if not urls else 0)
        why = "; ".join(notes) if notes else "no delivery set in params"
        if not notes and urls:
            why = "no destination when the run began"
        print(f"{name}: {n} alert(s) not sent: {why}", file=sys.stderr)
    # the state kept: the days each alert was last delivered (a failed one is tried again)
    kept = dict(previous)
    for r in recs:
        if r["status"] == "delivered":
            kept[r["key"]] = max(r["day"], kept.get(r["key"], r["day"]))
    record["alerts"] = {"records": recs, "state": kept, "delivered_to": sent_to}
    path = report_dir / "results.json"
    tmp = path.with_suffix(".json.tmp")
    try:
        tmp.write_text(
            json.dumps(record, indent=2, ensure_ascii=False, default=str), encoding="utf-8"
        )
        os.replace(tmp, path)
    except OSError as exc:
        print(f"{name}: cannot record the alerts' delivery: {exc.strerror or exc}", file=sys.stderr)
