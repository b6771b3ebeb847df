"""The docs are generated from the code and must not drift from it."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from watchkeeper import schema
from watchkeeper.docgen import render_cli, render_data_model

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_data_model_doc_matches_schema_module():
    text = (DOCS / "data-model.md").read_text()
    assert render_data_model(text) == text, "run `python -m watchkeeper.docgen` and commit docs/data-model.md"


def test_every_field_is_documented_with_a_sentence():
    text = (DOCS / "data-model.md").read_text()
    for name, sch in schema.TABLES.items():
        for f in sch:
            unit, doc = schema.field_doc(sch, f.name)
            assert len(doc) > 10, f"{name}.{f.name} has no documentation"
            assert f"| `{f.name}` | `{f.type}` |" in text


def test_units_are_in_names():
    for sch in schema.TABLES.values():
        for f in sch:
            unit, _ = schema.field_doc(sch, f.name)
            if unit in ("kn", "deg", "m", "B") and pa.types.is_floating(f.type) | pa.types.is_integer(f.type):
                assert f.name.endswith(("_kn", "_deg", "_m", "_bytes", "lat", "lon")), f.name


def test_cli_reference_is_generated_from_help():
    assert (DOCS / "cli.md").read_text() == render_cli(), "run `python -m watchkeeper.docgen`"
