"""Reading a params file: YAML read safely (no aliases, no key written twice, dates left as text
for pydantic), validated against its notebook's schema, every problem one line naming the file and
the field, with "did you mean" for a mistyped key."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from analysis_lib.errors import ParamsError
from analysis_lib.params.ab_test import AbTestParams
from analysis_lib.params.base import BaseParams, check_path
from analysis_lib.params.campaign_retro import CampaignRetroParams
from analysis_lib.params.customer_value import CustomerValueParams
from analysis_lib.params.funnel import FunnelParams
from analysis_lib.params.intervention_impact import InterventionParams
from analysis_lib.params.kpi_monitor import KpiMonitorParams
from analysis_lib.params.market_analysis import MarketParams
from analysis_lib.params.product_ops import ProductOpsParams
from analysis_lib.params.target_setting import TargetSettingParams

MAX_PARAMS_BYTES = 256 * 1024


class _Loader(yaml.SafeLoader):
    """Safe YAML loader that leaves dates as text, so pydantic parses them and reports a bad date
    (2025-02-30) against its field instead of YAML failing on the whole file."""


def _no_alias(self, parent, index):
    if self.check_event(yaml.AliasEvent):
        event = self.peek_event()
        raise yaml.composer.ComposerError(
            None,
            None,
            "anchors and aliases (*name) are not allowed in params files",
            event.start_mark,
        )
    return yaml.SafeLoader.compose_node(self, parent, index)


_Loader.compose_node = _no_alias


def _no_duplicate_keys(self, node, deep=False):
    """A key written twice in one mapping is refused (YAML would let the second silently win)."""
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = self.construct_object(key_node, deep=deep)
        try:
            first = seen.get(key)
        except TypeError:  # an unhashable key: SafeLoader says so itself
            break
        if first is not None:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"key '{key}' is written twice (first at line {first}); keep one",
                key_node.start_mark,
            )
        seen[key] = key_node.start_mark.line + 1
    return yaml.SafeLoader.construct_mapping(self, node, deep=deep)


_Loader.construct_mapping = _no_duplicate_keys
_Loader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in rs if tag != "tag:yaml.org,2002:timestamp"]
    for ch, rs in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


SCHEMAS: dict[str, type[BaseParams]] = {
    "campaign_retro": CampaignRetroParams,
    "intervention_impact": InterventionParams,
    "customer_value": CustomerValueParams,
    "product_ops": ProductOpsParams,
    "market_analysis": MarketParams,
    "target_setting": TargetSettingParams,
    "ab_test": AbTestParams,
    "kpi_monitor": KpiMonitorParams,
    "funnel": FunnelParams,
}


def _loc(loc: tuple) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


def _one_line(path: str, model: type[BaseModel], exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = _loc(err["loc"])
    if err["type"] == "extra_forbidden":
        known = list(model.model_fields)
        near = difflib.get_close_matches(str(err["loc"][-1]), known, n=1)
        hint = f" (did you mean '{near[0]}'?)" if near else f" (known keys: {', '.join(known)})"
        return f"{path}: unknown key '{loc}'{hint}"
    if err["type"] == "missing":
        return f"{path}: missing key '{loc}'"
    msg = err["msg"].removeprefix("Value error, ")
    value = err.get("input")
    if not isinstance(value, str | int | float | bool):  # a mapping or list: the message says it
        return f"{path}: field '{loc}': {msg}"
    shown = repr(value)
    if isinstance(value, str) and shown in msg:  # the message names the value already
        return f"{path}: field '{loc}': {msg}"
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return f"{path}: field '{loc}': {msg} (got {shown})"


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Read a params file as a mapping; one-line :class:`ParamsError` on any problem."""
    p = Path(path)
    if not p.is_file():
        raise ParamsError(f"{p}: params file not found")
    raw = p.read_bytes()
    if len(raw) > MAX_PARAMS_BYTES:
        raise ParamsError(f"{p}: params file is {len(raw)} bytes, larger than {MAX_PARAMS_BYTES}")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParamsError(f"{p}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from exc
    try:
        doc = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ParamsError(f"{p}: invalid YAML{where}: {problem}") from exc
    except RecursionError as exc:
        raise ParamsError(f"{p}: YAML nested too deeply") from exc
    if not isinstance(doc, dict):
        raise ParamsError(f"{p}: expected a mapping of keys, got {type(doc).__name__}")
    return doc


def validate(doc: dict[str, Any], source: str = "params") -> BaseParams:
    """Validate a params mapping against its notebook's schema; one-line error naming the field."""
    name = doc.get("notebook")
    if name is None:
        raise ParamsError(
            f"{source}: missing key 'notebook' (one of: {', '.join(sorted(SCHEMAS))})"
        )
    if not isinstance(name, str):
        raise ParamsError(
            f"{source}: field 'notebook': must be one notebook name, got a {type(name).__name__} "
            f"(one of: {', '.join(sorted(SCHEMAS))})"
        )
    if name not in SCHEMAS:
        known = ", ".join(sorted(SCHEMAS))
        raise ParamsError(f"{source}: field 'notebook': unknown notebook {name!r} (known: {known})")
    model = SCHEMAS[name]
    try:
        params = model.model_validate(doc)
    except ValidationError as exc:
        raise ParamsError(_one_line(source, model, exc)) from None
    url = params.data.url
    try:
        check_path(url.removeprefix("file://"))  # a backend URL: no NUL byte
    except ValueError as exc:
        raise ParamsError(f"{source}: field 'data.url': {exc} (got {url!r})") from None
    return params


def load(path: str | Path) -> BaseParams:
    """Read and validate a params file."""
    return validate(read_yaml(path), str(path))


def to_notebook(params: BaseParams) -> dict[str, Any]:
    """The params as the plain dict injected into the notebook's ``params`` variable."""
    return params.model_dump(mode="json")
