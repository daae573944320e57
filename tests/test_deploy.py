"""The scheduling examples in deploy/ call the CLI with arguments it accepts."""

from __future__ import annotations

import ast
import re
import shlex

from analysis_lib.run.cli import build_parser
from tests.test_runner import ROOT

DEPLOY = ROOT / "deploy"
CALL = re.compile(
    r"workbook(?:\}|\b) (?P<args>(?:run-all|run|index|validate)\b[^\n>|&;\"]*)", re.IGNORECASE
)


def _calls(text: str) -> list[list[str]]:
    return [
        shlex.split(m.group("args").replace("{", "").replace("}", "")) for m in CALL.finditer(text)
    ]


def test_every_cli_call_parses():
    calls = []
    for f in DEPLOY.rglob("*"):
        if f.is_file():
            calls += [(f.name, c) for c in _calls(f.read_text())]
    assert {name for name, _ in calls} >= {"crontab", "workbook.service", "workbook_dag.py"}
    for name, args in calls:
        ns = build_parser().parse_args(args)  # SystemExit on an unknown option
        assert ns.cmd in {"run", "run-all", "index", "validate"}, (name, args)


def test_airflow_dag_is_valid_python():
    ast.parse((DEPLOY / "airflow" / "workbook_dag.py").read_text())
