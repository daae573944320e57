"""Params of ab_test (A/B 测试): metrics, guardrails, the experiment or unit table, the planner."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import Field, model_validator

from analysis_lib.core import data as D
from analysis_lib.core.quality import check_blocking
from analysis_lib.errors import DataError, ParamsError
from analysis_lib.params.base import BaseParams, Strict

if TYPE_CHECKING:
    from analysis_lib.analyses.abtest import AbSpec


class AbMetric(Strict):
    """One A/B metric; see :class:`analysis_lib.analyses.abtest.MetricDef`."""

    name: str = Field(min_length=1, max_length=80, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    kind: Literal["proportion", "mean", "ratio"]
    column: str | None = None
    numerator: str | None = None
    denominator: str | None = None
    winsorize: float | None = Field(default=None, gt=0.5, lt=1)
    covariate: str | None = None
    covariate_denominator: str | None = None
    higher_is_better: bool = True
    missing: Literal["drop", "zero"] = "drop"

    @model_validator(mode="after")
    def _ratio_parts(self) -> AbMetric:
        if self.kind == "ratio" and not (self.numerator and self.denominator):
            raise ValueError(f"ratio metric '{self.name}' needs numerator and denominator")
        if self.kind != "ratio" and (self.numerator or self.denominator):
            raise ValueError(
                f"only ratio metrics take numerator/denominator ('{self.name}' is {self.kind})"
            )
        if self.covariate_denominator and not (self.kind == "ratio" and self.covariate):
            raise ValueError(
                f"covariate_denominator goes with a ratio metric's covariate ('{self.name}' is "
                f"{self.kind}{'' if self.covariate else ' without a covariate'})"
            )
        return self

    def columns(self) -> list[str]:
        """Unit-table columns this metric reads."""
        cols = (
            [self.numerator, self.denominator]
            if self.kind == "ratio"
            else [self.column or self.name]
        )
        return [c for c in [*cols, self.covariate, self.covariate_denominator] if c]


class AbGuardrail(Strict):
    """A guardrail: a metric (one of ``metrics``) that must not degrade beyond ``tolerance``."""

    metric: str
    tolerance: float = Field(default=0.02, ge=0, le=1)


class UnitTable(Strict):
    """Input (b): a unit-level table of the data source."""

    table: str = Field(min_length=1)
    variant_column: str = "variant"


class Planner(Strict):
    """Inputs of the sample-size planner."""

    kind: Literal["proportion", "mean"] = "proportion"
    baseline: float = Field(gt=0)
    mde: float = Field(gt=0, le=10, description="relative effect wanted, 0.05 = +5%")
    daily_units: float = Field(gt=0)
    sd: float | None = Field(default=None, gt=0)
    power: float = Field(default=0.8, gt=0, lt=1)


class AbTestParams(BaseParams):
    """ab_test (A/B 测试): an experiment from the shop's assignments, or a unit-level table."""

    notebook: Literal["ab_test"]
    experiment_id: str | None = None
    unit_table: UnitTable | None = None
    # what one unit is, so the report counts "12,000 players" / "12,000 个玩家" instead of "units":
    # default users for the shop's assignments (their unit_id is a user id), units for a unit table
    unit: (
        Literal[
            "users", "players", "sessions", "devices", "accounts", "customers", "stores", "units"
        ]
        | None
    ) = None
    control: str = "control"
    planned_split: dict[str, float] | None = None
    metrics: list[AbMetric] = Field(min_length=1, max_length=30)
    guardrails: list[AbGuardrail] = []
    alpha: float = Field(default=0.05, gt=0, lt=0.5)
    correction: Literal["holm", "bh", "none"] = "holm"
    srm_threshold: float = Field(default=0.001, gt=0, lt=1)
    segments: list[str] = Field(default=[], max_length=10)
    sequential: bool = False
    sequential_planned_units: int | None = Field(default=None, gt=0)
    pre_period_days: int = Field(default=28, ge=1, le=365)
    planner: Planner | None = None

    required_tables: ClassVar = {}
    optional_tables: ClassVar = {"users": ["user_id", "signup_ts"]}

    def spec(self) -> AbSpec:
        """The :class:`analysis_lib.analyses.abtest.AbSpec` these params describe."""
        # lazy on purpose: every run imports every schema's module, and analyses.abtest and power
        # import scipy and statsmodels (about 2 s of CPU) that validation does not need
        from analysis_lib.analyses import abtest as A
        from analysis_lib.analyses import power as PW

        return A.AbSpec(
            metrics=tuple(A.MetricDef(**m.model_dump()) for m in self.metrics),
            control=self.control,
            guardrails=tuple(A.Guardrail(g.metric, g.tolerance) for g in self.guardrails),
            alpha=self.alpha,
            correction=self.correction,
            srm_threshold=self.srm_threshold,
            planned_split=self.planned_split,
            segments=tuple(self.segments),
            sequential=self.sequential,
            sequential_planned_units=self.sequential_planned_units,
            planner=PW.PlannerSpec(**self.planner.model_dump()) if self.planner else None,
        )

    def unit_name(self) -> str:
        """What one unit is (``unit``), defaulting by the input: users for the shop's assignments,
        units for a unit table (whose rows the params do not describe)."""
        return self.unit or ("users" if self.experiment_id is not None else "units")

    def unit_source(self) -> dict:
        """Where the units come from, as :func:`analysis_lib.analyses.abtest_units.load` takes it:
        the shop's assignments of ``experiment_id``, or the ``unit_table`` with the metric
        columns."""
        ut = self.unit_table
        return {
            "experiment_id": self.experiment_id,
            "table": ut.table if ut else None,
            "variant_column": ut.variant_column if ut else "variant",
            "columns": self.spec().columns(),
            "pre_days": self.pre_period_days,
        }

    def tables_read(self) -> list[str]:
        """The shop's assignments and orders with ``experiment_id``; a unit table is not canonical."""
        shop = ["assignments", "orders"] if self.experiment_id is not None else []
        return [*shop, *self.optional_tables]

    @model_validator(mode="after")
    def _one_source(self) -> AbTestParams:
        if (self.experiment_id is None) == (self.unit_table is None):
            raise ValueError("give exactly one of experiment_id (shop assignments) or unit_table")
        names = [m.name for m in self.metrics]
        if len(set(names)) != len(names):
            raise ValueError(f"metric names must be distinct, got {names}")
        for g in self.guardrails:
            if g.metric not in names:
                raise ValueError(f"guardrail metric '{g.metric}' is not one of the metrics {names}")
        if self.planned_split is not None and (
            any(v <= 0 for v in self.planned_split.values())
            or self.control not in self.planned_split
        ):
            raise ValueError(
                "planned_split needs a positive weight for every variant, the control included"
            )
        return self

    def _check_zero_one(self, src, t, m: AbMetric) -> None:
        """A proportion's column holds 0 and 1 only (a "proportion" of 2.99 is a mean): a
        :class:`DataError` naming table, column and a value that is neither."""
        c = m.columns()[0]
        bad = t.filter(t[c].notnull() & ~t[c].isin([0, 1]))
        n = int(src.execute(bad.count()))
        if n:
            example = src.execute(bad.select(c).limit(1))[c].iloc[0]
            table = self.unit_table.table
            raise DataError(
                f"{src.where(table)}: column '{table}.{c}' of proportion metric '{m.name}' has "
                f"{n:,} value(s) that are not 0 or 1 (e.g. {example:g}); use kind: mean"
            )

    def check_data(self, src, source: str) -> None:
        """The tables of the chosen input exist with their columns; control and the metric columns
        are there; at least two variants, none empty."""
        if self.experiment_id is not None:
            D.check_tables(src, {"assignments": None, "orders": None})
            check_blocking(src, ["assignments", "orders"])
            shop = {"converted", "orders", "revenue", "pre_converted", "pre_orders", "pre_revenue"}
            for m in self.metrics:
                for c in m.columns():
                    if c not in shop:
                        raise ParamsError(
                            f"{source}: field 'metrics': column '{c}' of metric '{m.name}' is not one "
                            f"of the shop metrics {sorted(shop)}"
                        )
                if m.kind == "proportion" and m.columns()[0] not in ("converted", "pre_converted"):
                    raise ParamsError(
                        f"{source}: field 'metrics': metric '{m.name}' is a proportion but "
                        f"'{m.columns()[0]}' is not 0/1 (converted and pre_converted are); "
                        f"use kind: mean"
                    )
            for seg in self.segments:
                if seg not in ("channel", "new_vs_returning"):
                    raise ParamsError(
                        f"{source}: field 'segments': '{seg}' is not a shop segment (channel, new_vs_returning)"
                    )
                if not src.has("users"):
                    raise ParamsError(
                        f"{source}: field 'segments': segment '{seg}' needs the users table"
                    )
                if seg == "channel" and "channel" not in src.table("users").columns:
                    raise ParamsError(
                        f"{source}: field 'segments': segment 'channel' needs a channel column in "
                        f"{src.where('users')}"
                    )
            a = src.table("assignments")
            a = a.filter(a.experiment_id == self.experiment_id)
            variants = src.execute(a.group_by("variant").aggregate(n=a.count()))
            where = src.where("assignments")
        else:
            if not src.has(self.unit_table.table):
                raise ParamsError(
                    f"{source}: field 'unit_table.table': table '{self.unit_table.table}' not found in {src.url}"
                )
            t = src.table(self.unit_table.table)
            vc = self.unit_table.variant_column
            if vc not in t.columns:
                raise ParamsError(
                    f"{source}: field 'unit_table.variant_column': table '{self.unit_table.table}' has no column '{vc}'"
                )
            for m in self.metrics:
                for c in m.columns():
                    if c not in t.columns:
                        raise ParamsError(
                            f"{source}: field 'metrics': table '{self.unit_table.table}' has no column '{c}' (metric '{m.name}')"
                        )
                    dt = t.schema()[c]
                    if not (dt.is_numeric() or dt.is_boolean()):
                        raise ParamsError(
                            f"{source}: field 'metrics': column '{c}' of metric '{m.name}' is {dt}, not numeric"
                        )
                if m.kind == "proportion" and not t.schema()[m.columns()[0]].is_boolean():
                    self._check_zero_one(src, t, m)
            for s in self.segments:
                if s not in t.columns:
                    raise ParamsError(
                        f"{source}: field 'segments': table '{self.unit_table.table}' has no column '{s}'"
                    )
            n_null = int(src.execute(t.filter(t[vc].isnull()).count()))
            if n_null:
                raise DataError(
                    f"{src.where(self.unit_table.table)}: column '{self.unit_table.table}.{vc}' has "
                    f"{n_null:,} null value(s) in {int(src.execute(t.count())):,} rows (every unit "
                    f"needs its variant: drop those rows or fill them in)"
                )
            variants = src.execute(
                t.group_by(t[vc].cast("string").name("variant")).aggregate(n=t.count())
            )
            where = src.where(self.unit_table.table)
        found = {str(v): int(n) for v, n in zip(variants["variant"], variants["n"], strict=True)}
        if not found:
            raise ParamsError(
                f"{source}: field 'experiment_id': no units for experiment '{self.experiment_id}' in {where}"
            )
        if self.control not in found:
            raise ParamsError(
                f"{source}: field 'control': variant '{self.control}' not found (variants: {', '.join(sorted(found))})"
            )
        if len(found) < 2:
            raise ParamsError(
                f"{source}: only one variant ('{self.control}') in {where}: nothing to compare"
            )
        if self.planned_split is not None and set(self.planned_split) != set(found):
            raise ParamsError(
                f"{source}: field 'planned_split': variants {sorted(self.planned_split)} do not match the data's {sorted(found)}"
            )
