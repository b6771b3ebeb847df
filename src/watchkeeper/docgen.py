"""Generate the reference parts of the docs from the code: table fields, thresholds and the CLI's ``--help``.

``python -m watchkeeper.docgen`` rewrites ``docs/cli.md`` and the generated sections of ``docs/data-model.md``
and ``docs/detections.md`` (between ``<!-- BEGIN GENERATED: NAME -->`` and ``<!-- END GENERATED: NAME -->``).
Tests fail when the committed docs differ from what this produces, so the docs cannot drift from the code.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import click

from watchkeeper import schema
from watchkeeper.config import DETECTORS, Detector, toml_value
from watchkeeper.ingest.reasons import REASONS

ROOT = Path(__file__).resolve().parents[2]


def field_table(sch) -> str:
    rows = ["| field | type | unit | null allowed | meaning |", "| --- | --- | --- | --- | --- |"]
    for f in sch:
        unit, doc = schema.field_doc(sch, f.name)
        rows.append(f"| `{f.name}` | `{f.type}` | {unit} | {'yes' if f.nullable else 'no'} | {doc} |")
    return "\n".join(rows)


def reasons_table() -> str:
    rows = ["| reason | bucket | meaning |", "| --- | --- | --- |"]
    for _, (name, bucket, meaning) in sorted(REASONS.items()):
        rows.append(f"| `{name}` | {bucket} | {meaning} |")
    return "\n".join(rows)


def generated_sections() -> dict[str, str]:
    out = {name: field_table(sch) for name, sch in schema.TABLES.items()}
    out["reasons"] = reasons_table()
    return out


def fill_sections(text: str, sections: dict[str, str], doc: str) -> str:
    """Replace each generated section ``NAME`` of ``text`` with ``sections[NAME]``; every one must be present."""
    for name, body in sections.items():
        pat = re.compile(rf"(<!-- BEGIN GENERATED: {re.escape(name)} -->\n).*?(<!-- END GENERATED: {re.escape(name)} -->)",
                         re.S)
        if not pat.search(text):
            raise SystemExit(f"{doc} lacks the generated section {name!r}")
        text = pat.sub(lambda m: m.group(1) + body + "\n" + m.group(2), text)
    return text


def render_data_model(text: str) -> str:
    """Replace every generated section of ``text`` with its current content."""
    return fill_sections(text, generated_sections(), "docs/data-model.md")


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def threshold_table(det: Detector) -> str:
    """The Markdown table of one detector's thresholds (``watchkeeper.config.DETECTORS``)."""
    rows = ["| setting | default | unit | valid | rationale | source |", "| --- | --- | --- | --- | --- | --- |"]
    for t in det.thresholds:
        rows.append(f"| `{t.name}` | `{toml_value(t.default)}` | {t.unit} | {t.valid()} | {_cell(t.rationale)} "
                    f"| {_cell(t.source)} |")
    return "\n".join(rows)


def render_detections(text: str) -> str:
    """Replace the ``thresholds-<detector>`` sections of ``docs/detections.md`` with tables from the config."""
    sections = {f"thresholds-{name}": threshold_table(det) for name, det in DETECTORS.items()}
    stray = sorted(set(re.findall(r"<!-- BEGIN GENERATED: (thresholds-[\w-]+) -->", text)) - set(sections))
    if stray:
        raise SystemExit(f"docs/detections.md has generated sections for unknown detectors: {', '.join(stray)}")
    return fill_sections(text, sections, "docs/detections.md")


def render_cli() -> str:
    from watchkeeper.cli import cli

    parts = ["# Command-line reference", "",
             "Generated from `--help` by `python -m watchkeeper.docgen`; do not edit by hand.", ""]

    def walk(cmd: click.Command, path: list[str]) -> None:
        ctx = click.Context(cmd, info_name=" ".join(path), terminal_width=100, max_content_width=100,
                            help_option_names=["-h", "--help"])
        parts.extend([f"## `{' '.join(path)}`", "", "```text", cmd.get_help(ctx), "```", ""])
        if isinstance(cmd, click.Group):
            for name in sorted(cmd.commands):
                walk(cmd.commands[name], [*path, name])

    walk(cli, ["watchkeeper"])
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> None:
    dm = ROOT / "docs" / "data-model.md"
    dm.write_text(render_data_model(dm.read_text()))
    det = ROOT / "docs" / "detections.md"
    det.write_text(render_detections(det.read_text()))
    (ROOT / "docs" / "cli.md").write_text(render_cli())
    print(f"wrote {dm}, {det} and {ROOT / 'docs' / 'cli.md'}", file=sys.stderr)


if __name__ == "__main__":
    main()
