"""Checks of one trace event, equivalent to schemas/trace-event.schema.json but fast.

Two layers:
- FAST_LINE, a regex run over a whole block of log text. findall gives one item per '@' line: the
  type name when the line is a canonical ALLOCATE/DROP line (compact JSON, keys in schema order as
  both tracers write them, printable-ASCII type name, integers of at most 18 digits), else b''.
  A canonical line is valid by the schema; its numbers sit at fixed offsets around the type name
  (the *_OFFSET/AFTER_* constants) and are read by numpy (logparse_swar).
- check_event(obj): explicit checks of a parsed object, compiled at import from the schema file
  itself (only the keywords the schema uses; an unknown keyword raises, so a schema change cannot
  silently diverge). Every '@' line the regex does not take goes through orjson + check_event.
Tests compare both layers with jsonschema.

One deliberate limit beyond the schema: the integers the parser stores in int64 columns
(ALLOCATE size/id/site, DROP size/id, SITE site, SITE_LIVE site) must be < 2**63.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass

import orjson

from analysis.common.paths import schema_path

INT64_MAX = 2**63 - 1

# Fields stored in int64 columns, where the range limit applies.
STORED_INTS = {"ALLOCATE": ("size", "id", "site"), "DROP": ("size", "id"), "SITE": ("site",), "SITE_LIVE": ("site",)}

# --- layer 1: the canonical-line regex -------------------------------------------------------
# findall returns one item per '@' line: the type name of a canonical ALLOCATE/DROP line, or b''
# for any other line (which then takes the slow path). The regex checks the line's structure; a few
# checks are cheaper in numpy after it and are done there (logparse_collect._take_canonical, with
# the numbers themselves read by logparse_swar):
#  - size and id: at most 18 digits here, no leading zero checked in numpy;
#  - the tail after the id may be either kind's here (one pass, no lookahead); numpy rejects an
#    ALLOCATE whose first tail key is freed/how, a DROP whose first tail key is site/ptr, and a DROP
#    whose tid is not its last key.
_INT = rb"(?:0|[1-9][0-9]{0,17}+)"          # JSON integer >= 0 without leading zeros, fits int64
_DIGITS = rb"[0-9]{1,18}+"                   # size, id: leading zeros are rejected in numpy
_TYPE = rb'[!#-\[\]-~]++'                   # printable ASCII minus space, '"' and '\': no escapes
_HOW = rb'(?:free|finalizer|consumed|rust|unknown)'


def _optional(part: bytes) -> bytes:
    return rb"(?:" + part + rb"|)"  # an empty branch: cheaper in the re engine than (?:...)?


_ALLOC_TAIL = _optional(rb',"site":' + _INT) + _optional(rb',"tid":' + _INT) + _optional(rb',"ptr":' + _INT)
_DROP_TAIL = _optional(rb',"freed":' + _INT) + _optional(rb',"how":"' + _HOW + rb'"') + _optional(rb',"tid":' + _INT)
# '@' as literal prefix lets the engine skip to candidates quickly; the lookbehind keeps only an
# '@' that starts a line; the catch-all makes findall return exactly one item per '@' line.
FAST_LINE = re.compile(
    rb'@(?<![^\n]@)(?:\{"ev":"(?:ALLOCATE|DROP)","size":' + _DIGITS + rb',"type":"(' + _TYPE + rb')","id":'
    + _DIGITS + rb'(?:' + _ALLOC_TAIL + rb'|' + _DROP_TAIL + rb')\}$|.*)', re.M)
# Byte offsets in a canonical line (from its '@'), used with FAST_LINE.
KIND_OFFSET = len(b'@{"ev":"')                   # 'A' of ALLOCATE or 'D' of DROP
SIZE_OFFSET = {ev: len(b'@{"ev":"%s","size":' % ev.encode()) for ev in ("ALLOCATE", "DROP")}  # first digit
AFTER_SIZE = len(b',"type":"')                   # size end -> type start
AFTER_TYPE = len(b'","id":')                     # type end -> id start
AFTER_ID_SITE = len(b',"site":')                 # id end -> site start (ALLOCATE only)
AFTER_ID_TID = len(b',"tid":')                   # id end -> tid start


# --- layer 2: explicit checks compiled from the schema ---------------------------------------
class SchemaSubsetError(RuntimeError):
    """The trace-event schema uses a construct the compiled checks do not implement."""


_IGNORED = {"description", "title", "$comment", "examples"}


def _is_int(v) -> bool:
    # JSON Schema 2020-12 'integer' (as jsonschema implements it): an int that is not a bool,
    # or a float with no fractional part.
    t = type(v)
    return t is int or (t is float and v.is_integer())


def _compile_value(sub: dict, defs: dict):
    """-> (predicate, human description) for one property subschema."""
    while "$ref" in sub:
        extra = set(sub) - {"$ref"} - _IGNORED
        if extra:
            raise SchemaSubsetError(f"$ref with siblings {sorted(extra)}")
        sub = defs[sub["$ref"].rsplit("/", 1)[-1]]
    keys = set(sub) - _IGNORED
    if keys == {"enum"}:
        allowed = tuple(sub["enum"])
        if not all(isinstance(a, str) for a in allowed):
            raise SchemaSubsetError("enum of non-strings")
        return (lambda v: type(v) is str and v in allowed), f"one of {list(allowed)}"
    typ = sub.get("type")
    if typ == "integer" and keys <= {"type", "minimum"}:
        lo = sub.get("minimum")
        if lo is None:
            return _is_int, "an integer"
        return (lambda v: _is_int(v) and v >= lo), f"an integer >= {lo}"
    if typ == "string" and keys <= {"type", "minLength", "pattern"}:
        pat = re.compile(sub["pattern"]) if "pattern" in sub else None
        min_len = sub.get("minLength", 0)
        # re.search, not fullmatch: that is what jsonschema does with 'pattern'.
        return ((lambda v: type(v) is str and len(v) >= min_len and (pat is None or pat.search(v) is not None)),
                "a string" + (f" matching {sub['pattern']}" if pat else ""))
    if isinstance(typ, list) and sorted(typ) == ["null", "string"] and keys == {"type"}:
        return (lambda v: v is None or type(v) is str), "a string or null"
    if typ == "array" and keys == {"type", "items"} and sub["items"] == {"type": "string"}:
        return (lambda v: type(v) is list and all(type(x) is str for x in v)), "an array of strings"
    if typ == "string" and keys == {"type"}:
        return (lambda v: type(v) is str), "a string"
    raise SchemaSubsetError(f"unsupported property schema {sub}")


@dataclass(frozen=True)
class EventSpec:
    ev: str
    required: tuple
    props: dict            # key -> (predicate, description)
    additional: bool


def compile_specs(schema: dict) -> dict[str, EventSpec]:
    top = set(schema) - _IGNORED - {"$schema", "$id", "$defs"}
    if top != {"type", "required", "oneOf"} or schema["type"] != "object" or schema["required"] != ["ev"]:
        raise SchemaSubsetError(f"unexpected top level: {sorted(top)}")
    defs = schema["$defs"]
    specs = {}
    for branch in schema["oneOf"]:
        d = defs[branch["$ref"].rsplit("/", 1)[-1]]
        unknown = set(d) - _IGNORED - {"type", "required", "properties", "additionalProperties"}
        if unknown or d.get("type") != "object":
            raise SchemaSubsetError(f"unsupported event schema keys {sorted(unknown)}")
        props = dict(d.get("properties", {}))
        ev_schema = props.pop("ev", {})
        if set(ev_schema) - _IGNORED != {"const"} or "ev" not in d.get("required", []):
            raise SchemaSubsetError("each event branch needs a required 'ev' with a const")
        ev = ev_schema["const"]
        specs[ev] = EventSpec(
            ev=ev,
            required=tuple(k for k in d.get("required", []) if k != "ev"),
            props={k: _compile_value(v, defs) for k, v in props.items()},
            additional=d.get("additionalProperties", True) is not False,
        )
    return specs


SPECS = compile_specs(json.loads(schema_path("trace-event").read_text()))


def check_event(obj) -> str | None:
    """None if obj is a valid trace event (schema + the int64 limit), else the reason."""
    if type(obj) is not dict:
        return f"not a JSON object (a {type(obj).__name__})"
    if "ev" not in obj:
        return "no 'ev' key"
    ev = obj["ev"]
    spec = SPECS.get(ev) if type(ev) is str else None
    if spec is None:
        return f"unknown ev {_short(ev)}"
    for key in spec.required:
        if key not in obj:
            return f"{ev}: missing '{key}'"
    props = spec.props
    for key, value in obj.items():
        if key == "ev":
            continue
        rule = props.get(key)
        if rule is None:
            if not spec.additional:
                return f"{ev}: unknown key {_short(key)}"
        elif not rule[0](value):
            return f"{ev}: '{key}' must be {rule[1]}, got {_short(value)}"
    for key in STORED_INTS.get(ev, ()):
        if key in obj and obj[key] > INT64_MAX:
            return f"{ev}: '{key}' = {obj[key]} is beyond the parser's range (2**63-1)"
    return None


def _short(value, limit: int = 60) -> str:
    try:
        text = orjson.dumps(value).decode()
    except TypeError:
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def parse_payload(payload: bytes):
    """Bytes after '@' -> (event dict, None, False) or (None, reason, is_json_error)."""
    try:
        obj = orjson.loads(payload)
    except orjson.JSONDecodeError as e:
        return None, f"bad JSON: {e}", True
    reason = check_event(obj)
    if reason is not None:
        return None, reason, False
    return obj, None, False
