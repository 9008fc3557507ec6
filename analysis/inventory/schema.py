"""Validate Step 1 documents against schemas/inventory.schema.json."""
from __future__ import annotations

import json

import jsonschema

from analysis.common.paths import schema_path


class InventorySchemaError(Exception):
    pass


def _schema() -> dict:
    return json.loads(schema_path("inventory").read_text())


def validate(doc: dict, part: str | None = None) -> None:
    """part: None for inventory.json, 'source_inventory' or 'binary_inventory' for the step files."""
    full = _schema()
    schema = full if part is None else {"$defs": full["$defs"], "$ref": f"#/$defs/{part}"}
    v = jsonschema.Draft202012Validator(schema)
    errors = sorted(v.iter_errors(doc), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"{'/'.join(str(p) for p in e.absolute_path) or '(top)'}: {e.message[:300]}" for e in errors[:20]]
        raise InventorySchemaError(f"{part or 'inventory'} does not match the schema:\n  " + "\n  ".join(lines))
