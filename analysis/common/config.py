"""Load config.yaml, apply overrides, validate against schemas/config.schema.json.

Overrides come from the environment so quick runs need no edit:
  WLH_SET="bench.iterations=2 trace.iterations=2"   (values parsed as YAML scalars)
  WLH_BINDINGS_CHECKOUT=/path/to/proof-systems      (sets inventory.checkout and source_route.checkout)
The overrides actually applied are returned with the config so outputs can record them.
"""
from __future__ import annotations

import json
import os
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import jsonschema
import yaml

from analysis.common.paths import CONFIG, schema_path


class ConfigError(Exception):
    """A config problem, with a message that names the file and key."""


@dataclass
class Config:
    data: dict
    source: Path
    overrides: dict = field(default_factory=dict)

    def __getitem__(self, key):
        return self.data[key]

    def section(self, name: str) -> dict:
        return self.data[name]

    def _path(self, key: str) -> Path:
        p = Path(self.data["paths"][key])
        return p if p.is_absolute() else self.source.parent / p

    @property
    def artifacts(self) -> Path:
        return self._path("artifacts")

    @property
    def reports(self) -> Path:
        """Where the STEP_*.md reports and SUMMARY.md are written (the repository root unless a quick run)."""
        return self._path("reports")

    @property
    def lock(self) -> Path:
        return self._path("lock")


def parse_overrides(text: str, origin: str = "WLH_SET") -> dict:
    """'a.b=1 c=x' -> {'a.b': 1, 'c': 'x'}; values are YAML scalars (numbers, booleans, lists)."""
    out = {}
    for item in shlex.split(text or ""):
        if "=" not in item:
            raise ConfigError(f"{origin}: '{item}' is not of the form key.path=value")
        key, raw = item.split("=", 1)
        if not key:
            raise ConfigError(f"{origin}: '{item}' has an empty key")
        try:
            out[key] = yaml.safe_load(raw) if raw != "" else ""
        except yaml.YAMLError as e:
            raise ConfigError(f"{origin}: '{item}': the value is not YAML ({getattr(e, 'problem', e)}); "
                              "quote a value with spaces, e.g. key='{\"a\": 1}'") from None
    return out


def _apply(data: dict, dotted: str, value, origin: str) -> None:
    node = data
    parts = dotted.split(".")
    for part in parts[:-1]:
        if not isinstance(node.get(part), dict):
            raise ConfigError(f"{origin}: '{dotted}' does not name a config section ('{part}' is not one)")
        node = node[part]
    if parts[-1] not in node:
        raise ConfigError(f"{origin}: '{dotted}' is not a config key")
    node[parts[-1]] = value


def _describe(error: jsonschema.ValidationError) -> str:
    where = ".".join(str(p) for p in error.absolute_path) or "(top level)"
    schema = error.schema if isinstance(error.schema, dict) else {}
    if error.validator == "additionalProperties":
        return f"{where}: unknown key(s): {error.message.split('(')[-1].rstrip(')')}"
    if error.validator == "required":
        return f"{where}: {error.message}"
    expected = []
    for k in ("type", "enum", "const", "minimum", "maximum", "pattern", "minItems"):
        if k in schema:
            expected.append(f"{k} {json.dumps(schema[k])}")
    exp = f" (expected {', '.join(expected)})" if expected else ""
    return f"{where}: got {json.dumps(error.instance)}{exp}: {error.message}"


def validate(data: dict, origin: str) -> None:
    schema = json.loads(schema_path("config").read_text())
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        lines = "\n  ".join(_describe(e) for e in errors)
        raise ConfigError(f"{origin} is not valid:\n  {lines}")


def load(path: Path | str | None = None, env: dict | None = None) -> Config:
    path = Path(path) if path else CONFIG
    env = os.environ if env is None else env
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML: {e}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    validate(data, str(path))
    overrides = {}
    for key, value in parse_overrides(env.get("WLH_SET", "")).items():
        _apply(data, key, value, "WLH_SET")
        overrides[key] = value
    checkout = env.get("WLH_BINDINGS_CHECKOUT")
    if checkout:
        for key in ("inventory.checkout", "source_route.checkout"):
            if key not in overrides:
                _apply(data, key, checkout, "WLH_BINDINGS_CHECKOUT")
                overrides[key] = checkout
    if overrides:
        validate(data, f"{path} with overrides {overrides}")
    return Config(data=data, source=path, overrides=overrides)
