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


# --- docs/detections.md: generated from watchkeeper.config, every threshold documented as data ---------------


def test_detections_doc_matches_config():
    from watchkeeper.docgen import render_detections

    text = (DOCS / "detections.md").read_text()
    assert render_detections(text) == text, "run `python -m watchkeeper.docgen` and commit docs/detections.md"


def test_every_threshold_has_unit_rationale_and_source():
    import math

    from watchkeeper.config import DETECTORS, UNIT_SUFFIX

    for det in DETECTORS.values():
        assert det.thresholds, det.name
        for t in det.thresholds:
            key = f"{det.name}.{t.name}"
            assert t.unit.strip(), f"{key} has no unit"
            assert len(t.rationale) > 20 and t.rationale.endswith("."), f"{key} needs a one-sentence rationale"
            assert len(t.source) > 10, f"{key} has no source"
            suffix = UNIT_SUFFIX.get(t.unit)
            assert suffix is None or t.name.endswith(suffix), f"{key} must carry its unit ({suffix}) in its name"
            assert t.check(t.default, key) == t.default, f"{key}: the default is outside its own valid range"
            if isinstance(t.default, float):
                assert math.isfinite(t.default)


def test_every_detector_and_event_type_has_a_section_in_detections_doc():
    from watchkeeper.config import DETECTORS
    from watchkeeper.detect.events import EVENT_TYPES

    text = (DOCS / "detections.md").read_text()
    for name in DETECTORS:
        assert f"<!-- BEGIN GENERATED: thresholds-{name} -->" in text
    for name in EVENT_TYPES:
        assert f"## `{name}`" in text, f"docs/detections.md has no section on {name}"
        assert name in DETECTORS, f"event type {name} has no threshold table in watchkeeper.config"


def test_jsonl_example_in_detections_doc_is_valid_and_re_exports_identically():
    import io
    import re

    from watchkeeper.detect.events import read_jsonl, to_jsonl

    text = (DOCS / "detections.md").read_text()
    (block,) = re.findall(r"```jsonl\n(.*?)```", text, re.DOTALL)
    table = read_jsonl(io.StringIO(block), name="docs/detections.md")
    assert table.num_rows == len(block.splitlines())
    out = io.StringIO()
    to_jsonl(table, out)
    assert sorted(out.getvalue().splitlines()) == sorted(block.splitlines())
