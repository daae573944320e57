"""Params schemas: one pydantic model per notebook, and loading a YAML params file.

Every params file has ``notebook``, ``title``, ``data: {url}``, ``period: {start, end}`` and
``lang``, then the notebook's own keys. Unknown keys are rejected (a typo must not pass silently),
dates are parsed, an end before the start is refused. Each schema also names the tables and
columns its notebook needs, so a run can check the data before anything executes.

The shared base (:mod:`.base`: the strict model, data source, period, dates, paths) is used by one
module per notebook (:mod:`.funnel`, :mod:`.ab_test`, ...); :mod:`.loading` reads and validates a
file against them; :mod:`.outputs` refuses an output path that could destroy something. The names
below are re-exported so callers write ``from analysis_lib.params import FunnelParams`` without
knowing which module holds it.
"""

from analysis_lib.errors import ParamsError
from analysis_lib.params.ab_test import AbGuardrail, AbMetric, AbTestParams, Planner, UnitTable
from analysis_lib.params.base import (
    MAX_DATE,
    MIN_DATE,
    BaseParams,
    CsvExport,
    DataSpec,
    Date,
    LocalPath,
    Period,
    ShopInfo,
    Strict,
    check_path,
    require_rows,
)
from analysis_lib.params.campaign_retro import CampaignRetroParams, SeriesControls
from analysis_lib.params.customer_value import CustomerValueParams, SegmentExport
from analysis_lib.params.funnel import DropoffExport, FunnelExclusion, FunnelParams, parse_window
from analysis_lib.params.intervention_impact import InterventionParams, SeriesSpec
from analysis_lib.params.kpi_monitor import KpiMonitorParams
from analysis_lib.params.loading import (
    MAX_PARAMS_BYTES,
    SCHEMAS,
    apply_profile,
    check_profile,
    is_profile_file,
    load,
    load_profile,
    read_yaml,
    to_notebook,
    validate,
)
from analysis_lib.params.market_analysis import MarketParams
from analysis_lib.params.outputs import EXPORTS_DIR, check_outputs
from analysis_lib.params.product_ops import ProductOpsParams
from analysis_lib.params.profile import Profile, is_profile
from analysis_lib.params.target_setting import Scenario, TargetSettingParams

__all__ = [
    "EXPORTS_DIR",
    "MAX_DATE",
    "MAX_PARAMS_BYTES",
    "MIN_DATE",
    "SCHEMAS",
    "AbGuardrail",
    "AbMetric",
    "AbTestParams",
    "BaseParams",
    "CampaignRetroParams",
    "CsvExport",
    "CustomerValueParams",
    "DataSpec",
    "Date",
    "DropoffExport",
    "FunnelExclusion",
    "FunnelParams",
    "InterventionParams",
    "KpiMonitorParams",
    "LocalPath",
    "MarketParams",
    "ParamsError",
    "Period",
    "Planner",
    "ProductOpsParams",
    "Profile",
    "Scenario",
    "SegmentExport",
    "SeriesControls",
    "SeriesSpec",
    "ShopInfo",
    "Strict",
    "TargetSettingParams",
    "UnitTable",
    "check_outputs",
    "apply_profile",
    "check_path",
    "check_profile",
    "is_profile",
    "is_profile_file",
    "load",
    "load_profile",
    "parse_window",
    "read_yaml",
    "require_rows",
    "to_notebook",
    "validate",
]
