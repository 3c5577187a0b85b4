"""SageMaker hyperparameters back to typed Kedro parameters.

SageMaker passes every hyperparameter as a string, and the SageMaker Python SDK JSON-encodes
them on top (``"abc"`` arrives as ``"\\"abc\\""``, ``8`` as ``"8"``). Keys are dotted paths into
the parameters (``training.search.n_iter``); each value is converted back to the type of the
value it replaces, so ``"0.5"`` stays a string where the parameter is a string and becomes a
float where it is a float. Unknown keys are rejected: a typo must not train a default model.
"""

from __future__ import annotations

import difflib
import json
import logging
import math
from typing import Any

import yaml

from ml_on_aws.core.config import ConfigurationError

logger = logging.getLogger(__name__)

# Keys the SageMaker SDK adds for its own script mode; not parameters of this project.
RESERVED_PREFIXES = ("sagemaker_", "_")
# Mappings whose keys are free (an estimator's keyword arguments, a search space): a new key
# under them is accepted and its value read as YAML/JSON.
OPEN_MAPPINGS = ("training.estimator.kwargs", "training.search.space")
_BOOLEANS = {"true": True, "false": False, "yes": True, "no": False, "1": True, "0": False}


class HyperparameterError(ConfigurationError):
    """A hyperparameter that names no parameter or does not convert to the parameter's type."""


def to_runtime_params(hyperparameters: dict[str, Any], parameters: dict[str, Any],
                      where: str = "conf/base/parameters.yml") -> dict[str, Any]:
    """Nested parameter overrides (Kedro ``runtime_params``) from a hyperparameters.json mapping."""
    overrides: dict[str, Any] = {}
    known = sorted(_leaf_keys(parameters))
    for key, raw in sorted(hyperparameters.items()):
        if key.startswith(RESERVED_PREFIXES):
            logger.info("Ignoring SageMaker's own hyperparameter '%s'.", key)
            continue
        parent_key, _, leaf = key.rpartition(".")
        parent = _lookup(parameters, parent_key) if parent_key else parameters
        if isinstance(parent, dict) and leaf in parent:
            value = convert(key, _decode(raw), parent[leaf])
        elif isinstance(parent, dict) and parent_key in OPEN_MAPPINGS:
            value = _parse_text(key, _decode(raw))
        else:
            close = difflib.get_close_matches(key, known, n=3)
            hint = f" Did you mean {' or '.join(repr(k) for k in close)}?" if close else ""
            raise HyperparameterError(
                f"Unknown hyperparameter '{key}': no parameter of that name in {where}.{hint} "
                "Hyperparameter names are dotted paths into the parameters, e.g. 'training.search.n_iter'."
            )
        _assign(overrides, key.split("."), value)
        logger.info("Hyperparameter %s = %r", key, value)
    return overrides


def convert(key: str, raw: Any, current: Any) -> Any:
    """``raw`` (a string, or already typed) as the type of ``current``, the value it replaces."""
    if not isinstance(raw, str):
        return raw
    expected = type(current).__name__
    try:
        if isinstance(current, bool):
            return _BOOLEANS[raw.strip().lower()]
        if isinstance(current, int):
            return int(raw.strip())
        if isinstance(current, float):
            value = float(raw.strip())
            if not math.isfinite(value):
                raise ValueError(raw)
            return value
        if isinstance(current, str):
            return raw
    except (KeyError, ValueError):
        raise HyperparameterError(
            f"Hyperparameter '{key}' = {raw!r} is not a valid {expected} (the parameter is {current!r})."
        ) from None
    value = _parse_text(key, raw)
    if isinstance(current, list | dict) and not isinstance(value, type(current)):
        raise HyperparameterError(
            f"Hyperparameter '{key}' = {raw!r} is not a {expected} in JSON or YAML (the parameter is {current!r})."
        )
    return value


def _decode(raw: Any) -> Any:
    """Undo the SDK's JSON encoding of strings: ``'"abc"'`` -> ``'abc'``; other text unchanged."""
    if isinstance(raw, str) and len(raw) >= 2 and raw[0] == raw[-1] == '"':
        try:
            decoded = json.loads(raw)
        except json.JSONDecodeError:
            return raw
        if isinstance(decoded, str):
            return decoded
    return raw


def _parse_text(key: str, raw: Any) -> Any:
    if not isinstance(raw, str):
        return raw
    try:
        return yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise HyperparameterError(f"Hyperparameter '{key}' = {raw!r} is not valid JSON or YAML: {exc}") from None


def _lookup(parameters: dict[str, Any], dotted: str) -> Any:
    node: Any = parameters
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _leaf_keys(node: Any, prefix: str = "") -> list[str]:
    if not isinstance(node, dict):
        return [prefix.rstrip(".")]
    return [key for name, child in node.items() for key in _leaf_keys(child, f"{prefix}{name}.")] or [prefix.rstrip(".")]


def _assign(target: dict[str, Any], parts: list[str], value: Any) -> None:
    for part in parts[:-1]:
        target = target.setdefault(part, {})
    target[parts[-1]] = value
