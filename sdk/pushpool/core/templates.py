"""Base job templates: variables and their schema, merging, validation and rendering.

A template is data: ``{"job_configuration": {...}, "variables": <JSON schema>}``. Rendering walks the
parsed configuration and substitutes ``{{ name }}`` placeholders; a placeholder that is a whole string
is replaced by the variable's value with its type (a list stays a list), a placeholder inside a
longer string is replaced by the value's text. Nothing is ever evaluated and no JSON text is built by
concatenation, so a value cannot escape its position. Each pool type (``pushpool.pooltypes``)
supplies its default template. Pure Python: no boto3, no I/O.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from pushpool.core.models import FlowRun
from pushpool.errors import JobVariablesError, TemplateError

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.]*)\s*\}\}")
MERGED_BY_KEY = ("env", "labels", "secrets")
# a template's optional list of variables that only the pool sets: deployments and runs may not
LOCKED_KEY = "locked_variables"
TEMPLATE_KEYS = {"job_configuration", "variables", LOCKED_KEY}


def variable(
    kind: str | list[str], title: str, description: str, default: Any = None, **extra: Any
) -> dict[str, Any]:
    """One variable's JSON schema: its type(s), a title for forms, a description and a default."""
    spec: dict[str, Any] = {"title": title, "description": description, "default": default}
    if isinstance(kind, list):
        spec["anyOf"] = [{"type": k} for k in kind]
    else:
        spec["type"] = kind
    spec.update(extra)
    return spec


def string_map_variable(title: str, description: str) -> dict[str, Any]:
    """A variable holding NAME -> text (environment, labels, secrets), merged by key."""
    return {
        "title": title,
        "description": description,
        "type": "object",
        "additionalProperties": {"type": ["string", "null"]},
        "default": {},
    }


def check_template(template: Mapping[str, Any]) -> None:
    """Raise TemplateError unless the template has both parts, a valid schema, and known slots."""
    if not isinstance(template, Mapping) or set(template) - TEMPLATE_KEYS:
        raise TemplateError(
            "A base job template is an object with 'job_configuration' and 'variables' (and "
            f"optionally {LOCKED_KEY!r}). Start from `pushpool pool get-default-base-job-template`."
        )
    config = template.get("job_configuration")
    variables = template.get("variables")
    if not isinstance(config, Mapping) or not isinstance(variables, Mapping):
        raise TemplateError("Both 'job_configuration' and 'variables' must be JSON objects.")
    import jsonschema

    try:
        jsonschema.Draft202012Validator.check_schema(dict(variables))
    except jsonschema.SchemaError as exc:
        raise TemplateError(f"'variables' is not a valid JSON schema: {exc.message}") from exc
    known = set(variables.get("properties", {}))
    _check_locked_names(template.get(LOCKED_KEY, []), known)
    unknown = sorted(placeholders(config) - known - set(CONTEXT_NAMES))
    if unknown:
        raise TemplateError(
            f"job_configuration uses {', '.join(repr(u) for u in unknown)}, which 'variables' does "
            "not define. Add them to variables.properties or remove the placeholders."
        )


def _check_locked_names(locked: Any, known: set[str]) -> None:
    if not isinstance(locked, list) or not all(isinstance(n, str) for n in locked):
        raise TemplateError(f"{LOCKED_KEY!r} must be a list of variable names.")
    unknown = sorted(set(locked) - known)
    if unknown:
        raise TemplateError(
            f"{LOCKED_KEY!r} names {', '.join(repr(u) for u in unknown)}, which 'variables' does "
            "not define. Lock only variables of the template."
        )


def locked_variables(template: Mapping[str, Any]) -> list[str]:
    """The variables only the pool sets (its template's defaults); deployments and runs may not."""
    return list(template.get(LOCKED_KEY) or [])


def check_locked(template: Mapping[str, Any], pool: str, *layers: Mapping[str, Any] | None) -> None:
    """Refuse a deployment's or run's job variables that set a variable the pool locked."""
    locked = set(locked_variables(template))
    for layer in layers:
        for name in sorted(locked & set(layer or {})):
            raise JobVariablesError(
                f"Job variable {name!r} is locked by work pool {pool!r}: only the pool's base job "
                f"template sets it. Remove {name!r} from the job variables, or ask the pool's "
                "owner to change the pool's template."
            )


def placeholders(value: Any) -> set[str]:
    if isinstance(value, str):
        return {name for name in PLACEHOLDER.findall(value)}
    if isinstance(value, Mapping):
        return set().union(*(placeholders(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(placeholders(v) for v in value)) if value else set()
    return set()


# names a template may use besides its variables; filled from the run being launched
CONTEXT_NAMES = ("pool_name", "run_id", "run_name", "flow_name", "deployment_name")


def run_context(pool_name: str, run: FlowRun | None, deployment_name: str) -> dict[str, str]:
    """Values of :data:`CONTEXT_NAMES` for a run (placeholders when checking before it exists)."""
    return {
        "pool_name": pool_name,
        "run_id": run.id if run else "00000000-0000-0000-0000-000000000000",
        "run_name": run.name if run else "run-name",
        "flow_name": run.flow_name if run else "flow-name",
        "deployment_name": deployment_name,
    }


def variable_defaults(template: Mapping[str, Any]) -> dict[str, Any]:
    properties = template.get("variables", {}).get("properties", {})
    return {
        name: copy.deepcopy(spec["default"])
        for name, spec in properties.items()
        if isinstance(spec, Mapping) and "default" in spec
    }


def with_defaults(template: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of the template whose variable defaults are replaced by ``values`` (validated)."""
    updated = copy.deepcopy(dict(template))
    properties = updated.get("variables", {}).get("properties", {})
    _reject_unknown(values, properties)
    for name, value in values.items():
        properties[name]["default"] = copy.deepcopy(value)
    validate_job_variables(updated, {})
    return updated


def merge_job_variables(*layers: Mapping[str, Any] | None) -> dict[str, Any]:
    """Later layers win; env, labels and secrets merge by key (None removes a key)."""
    merged: dict[str, Any] = {}
    for layer in layers:
        for name, value in (layer or {}).items():
            if name in MERGED_BY_KEY and isinstance(value, Mapping):
                combined = {**(merged.get(name) or {}), **value}
                merged[name] = {k: v for k, v in combined.items() if v is not None}
            else:
                merged[name] = copy.deepcopy(value)
    return merged


def _reject_unknown(values: Mapping[str, Any], properties: Mapping[str, Any]) -> None:
    unknown = sorted(set(values) - set(properties))
    if unknown:
        raise JobVariablesError(
            f"Unknown job variable {', '.join(repr(u) for u in unknown)}. This pool accepts: "
            f"{', '.join(sorted(properties))}. Fix the name or add it to the pool's base job template."
        )


def resolve_job_variables(
    template: Mapping[str, Any], *layers: Mapping[str, Any] | None
) -> dict[str, Any]:
    """Pool defaults merged with the layers, rejecting unknown names. No schema validation: that
    happened when the deployment and run were created; AWS rejects anything that slipped by."""
    properties = template.get("variables", {}).get("properties", {})
    for layer in layers:
        _reject_unknown(layer or {}, properties)
    return merge_job_variables(variable_defaults(template), *layers)


def validate_job_variables(
    template: Mapping[str, Any], *layers: Mapping[str, Any] | None
) -> dict[str, Any]:
    """Merge pool defaults with the given layers and validate against the schema.

    Returns the merged variables. Raises JobVariablesError naming the variable, the value and the
    rule it breaks.
    """
    import jsonschema  # not needed by the dispatcher's hot path (see resolve_job_variables)

    schema = dict(template.get("variables", {}))
    merged = resolve_job_variables(template, *layers)
    properties = schema.get("properties", {})
    validator = jsonschema.Draft202012Validator(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(merged))
    if error is not None:
        path = ".".join(str(p) for p in error.absolute_path) or "(all)"
        head = path.split(".")[0]
        spec = properties.get(head, {})
        limits = {k: spec[k] for k in ("enum", "minimum", "maximum", "pattern") if k in spec}
        hint = f" Allowed: {limits}." if limits else ""
        raise JobVariablesError(
            f"Job variable {path!r} is invalid: {error.message}.{hint} "
            f"Set it with --job-variable {head}=<value> or in the deployment's job_variables."
        )
    return merged


def render(value: Any, variables: Mapping[str, Any]) -> Any:
    """Substitute placeholders in a parsed job configuration; drop keys whose value is None."""
    if isinstance(value, str):
        whole = PLACEHOLDER.fullmatch(value.strip())
        if whole:
            return copy.deepcopy(_lookup(variables, whole.group(1)))
        return PLACEHOLDER.sub(lambda m: _as_text(_lookup(variables, m.group(1))), value)
    if isinstance(value, Mapping):
        rendered = {key: render(item, variables) for key, item in value.items()}
        return {key: item for key, item in rendered.items() if not _empty(item)}
    if isinstance(value, list):
        return [render(item, variables) for item in value]
    return value


def render_job_configuration(
    template: Mapping[str, Any], variables: Mapping[str, Any], context: Mapping[str, Any]
) -> dict[str, Any]:
    config = template.get("job_configuration", {})
    result = render(config, {**context, **variables})
    return result if isinstance(result, dict) else {}


def _lookup(variables: Mapping[str, Any], dotted: str) -> Any:
    current: Any = variables
    for part in dotted.split("."):
        if not isinstance(current, Mapping):
            return None
        current = current.get(part)
    return current


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, dict) and not value)
