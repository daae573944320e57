"""Reading a params file: YAML read safely (no aliases, no key written twice, dates left as text
for pydantic), a shop profile it names (``shop:``) merged in, validated against its notebook's
schema, every problem one line naming the file and the field, with "did you mean" for a mistyped
key. Shop profiles themselves are read here too (:func:`load_profile`)."""

from __future__ import annotations

import difflib
import types
import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from analysis_lib.errors import ParamsError
from analysis_lib.params.ab_test import AbTestParams
from analysis_lib.params.base import BaseParams, DataSpec, check_path
from analysis_lib.params.campaign_retro import CampaignRetroParams
from analysis_lib.params.customer_value import CustomerValueParams
from analysis_lib.params.funnel import FunnelParams
from analysis_lib.params.intervention_impact import InterventionParams
from analysis_lib.params.kpi_monitor import KpiMonitorParams
from analysis_lib.params.market_analysis import MarketParams
from analysis_lib.params.product_ops import ProductOpsParams
from analysis_lib.params.profile import Profile, is_profile, merge
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


def _model_at(model: type[BaseModel], loc: tuple) -> type[BaseModel]:
    """The model whose key ``loc[-1]`` is: nested models are walked through their fields,
    ``dict[str, Model]`` and ``list[Model]`` through their keys and items."""
    i = 0
    while i < len(loc) - 1:
        field = model.model_fields.get(loc[i]) if isinstance(loc[i], str) else None
        if field is None:
            return model
        ann, skip = field.annotation, 0
        while True:
            args = typing.get_args(ann)
            origin = typing.get_origin(ann)
            if origin in (dict, list):
                ann, skip = args[-1], skip + 1
            elif origin in (typing.Union, types.UnionType):
                found = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
                if not found:
                    return model
                ann = found[0]
            else:
                break
        if not (isinstance(ann, type) and issubclass(ann, BaseModel)):
            return model
        model, i = ann, i + 1 + skip
    return model


def _first_error(exc: ValidationError) -> dict:
    """The error to show: the first, except that a mistyped key (``urll``) is shown rather than
    the key it leaves missing beside it (``url``), for its "did you mean"."""
    errors = exc.errors()
    missing = [e["loc"] for e in errors if e["type"] == "missing"]
    for e in errors:
        if e["type"] != "extra_forbidden":
            continue
        near = [str(m[-1]) for m in missing if tuple(m[:-1]) == tuple(e["loc"][:-1])]
        if difflib.get_close_matches(str(e["loc"][-1]), near, n=1):
            return e
    return errors[0]


def _one_line(path: str, model: type[BaseModel], exc: ValidationError) -> str:
    err = _first_error(exc)
    loc = _loc(err["loc"])
    if err["type"] == "extra_forbidden":
        known = list(_model_at(model, err["loc"]).model_fields)
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


def load_profile(path: str | Path, source: str | None = None) -> Profile:
    """Read and validate a shop profile; one-line :class:`ParamsError` naming the profile (and
    ``source``, the params file naming it, when the profile is not there)."""
    p = Path(path)
    if source is not None and not p.is_file():
        raise ParamsError(f"{source}: field 'shop': shop profile not found: {p}")
    doc = read_yaml(p)
    if not is_profile(doc):
        what = "has a 'notebook' key" if "notebook" in doc else "has no 'shop:' mapping"
        raise ParamsError(
            f"{p}: not a shop profile ({what}); a profile has shop: {{name, currency, ...}}, "
            "data: {url} and optionally tables:"
        )
    try:
        return Profile.model_validate(doc)
    except ValidationError as exc:
        raise ParamsError(_one_line(str(p), Profile, exc)) from None


def is_profile_file(path: str | Path) -> bool:
    """Whether ``path`` is a shop profile by its content (a file that cannot be read is not:
    its run says why)."""
    try:
        return is_profile(read_yaml(path))
    except ParamsError:
        return False


def check_profile(path: str | Path, data_url: str | None = None) -> tuple[Profile, Any]:
    """``workbook validate`` of a shop profile: read it, connect to its data (``data_url``
    instead of its own when given), compile every mapping and check each mapped canonical table
    as a run would (column types, rows, keys); the profile and the open data source."""
    # here on purpose: validating a params file alone never needs the quality rules
    from analysis_lib.core import data as D
    from analysis_lib.core import quality

    p = Path(path)
    prof = load_profile(p)
    doc = merge({}, prof, p)
    if data_url is not None:
        doc["data"]["url"] = data_url
    try:
        spec = DataSpec.model_validate(doc["data"])
    except ValidationError as exc:
        raise ParamsError(_one_line(str(p), DataSpec, exc)) from None
    src = D.connect(spec)
    mapped = [t for t in prof.tables if t in D.CANONICAL]
    for table in prof.tables:
        cols = src.table(table).columns
        D.check_table(src, table, [c for c in D.CANONICAL.get(table, {}) if c in cols])
    quality.check_blocking(src, mapped)
    return prof, src


def apply_profile(doc: dict[str, Any], base: Path, source: str) -> dict[str, Any]:
    """``doc`` with the shop profile its ``shop:`` names (a path, relative to ``base``) merged
    in (:func:`analysis_lib.params.profile.merge`); ``doc`` itself when it names none."""
    shop = doc.get("shop")
    if shop is None or isinstance(shop, dict):  # none, or merged already (a notebook's params)
        return doc
    if not isinstance(shop, str) or not shop.strip() or "\0" in shop:
        raise ParamsError(
            f"{source}: field 'shop': the path of a shop profile (e.g. shop: ../shop.yaml), "
            f"got {shop!r}"
        )
    path = Path(shop.strip()).expanduser()
    path = path if path.is_absolute() else base / path
    return merge(doc, load_profile(path, source), path)


def validate(doc: dict[str, Any], source: str = "params") -> BaseParams:
    """Validate a params mapping against its notebook's schema; one-line error naming the field.
    A ``shop:`` profile is merged in first (relative to the params file's folder when
    ``source`` is its path)."""
    if is_profile(doc):
        raise ParamsError(
            f"{source}: a shop profile, not a params file: a params file names it with "
            f"'shop: {source}' (`workbook validate {source}` checks it)"
        )
    src_path = Path(source)
    doc = apply_profile(doc, src_path.parent if src_path.is_file() else Path.cwd(), source)
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
    """The params as the plain dict injected into the notebook's ``params`` variable (without
    the empty shop-profile keys of a params file that names no profile)."""
    out = params.model_dump(mode="json")
    if out.get("shop") is None:
        out.pop("shop", None)
    data = out.get("data", {})
    for key in ("tables", "sources", "profile"):
        if not data.get(key):
            data.pop(key, None)
    for key in ("tables", "sources"):  # the mappings as a profile writes them, without nulls
        if key in data:
            given = getattr(params.data, key)
            data[key] = {
                k: v.model_dump(mode="json", exclude_defaults=True) for k, v in given.items()
            }
    return out
