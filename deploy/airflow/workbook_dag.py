"""Airflow DAG: one task per params file, each calling the workbook CLI, then the index.

Copy this file into the DAGs folder and set WORKBOOK_HOME (the project checkout, with its .venv)
and WORKBOOK_REPORTS. A task fails when its run fails (exit codes: 2 bad params, 3 bad data,
4 the notebook failed); the last good report stays in place and index.html shows the failure.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

from airflow import DAG
from airflow.operators.bash import BashOperator

HOME = Path(os.environ.get("WORKBOOK_HOME", "/srv/workbook"))
REPORTS = os.environ.get("WORKBOOK_REPORTS", "/srv/reports")
WORKBOOK = HOME / ".venv" / "bin" / "workbook"

with DAG(
    dag_id="ecommerce_workbook",
    schedule="30 6 * * *",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 1, "retry_delay": timedelta(minutes=10)},
    tags=["analytics"],
) as dag:
    index = BashOperator(
        task_id="index",
        bash_command=f"cd {HOME} && {WORKBOOK} index --out {REPORTS}",
        trigger_rule="all_done",  # the index also shows the runs that failed
    )
    for params in sorted((HOME / "params").rglob("*.yaml")):
        rel = params.relative_to(HOME)
        run = BashOperator(
            task_id=f"run__{rel.parent.name}__{rel.stem}",
            bash_command=f"cd {HOME} && {WORKBOOK} run {rel} --out {REPORTS} --wait 600",
            execution_timeout=timedelta(hours=1),
        )
        run >> index


# The daily alerts (issue 21): the KPI monitor reports the 28 days to yesterday (params: period:
# {last: 28d}) and judges yesterday, sending what fired (an alert sent within the quiet period is
# shown in the report, not sent again). WORKBOOK_TODAY is the run's scheduled day, so a retry or a
# cleared task re-runs that morning's period, not the one of the day it happens to run.
# The Apprise URLs hold credentials: an Airflow Variable (or a secrets backend) passes
# them in the task's environment; params name only the variable (delivery: [{env: ...}]).
# A run exits 0 whether or not alerts fired, so the task fails only when the run does.
with DAG(
    dag_id="ecommerce_kpi_alerts",
    schedule="0 7 * * *",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 1, "retry_delay": timedelta(minutes=10)},
    tags=["analytics", "alerts"],
) as alerts_dag:
    BashOperator(
        task_id="kpi_alerts",
        bash_command=(
            f"cd {HOME} && {WORKBOOK} run params/kpi_monitor/daily_alerts.yaml "
            f"--out {REPORTS} --wait 600"
        ),
        env={
            "WORKBOOK_ALERT_URLS": "{{ var.value.workbook_alert_urls }}",
            "WORKBOOK_TODAY": "{{ data_interval_end | ds }}",
        },
        append_env=True,
        execution_timeout=timedelta(minutes=30),
    )
