"""Generate the reference parts of the docs from the code: table fields and the CLI's ``--help``.

``python -m watchkeeper.docgen`` rewrites ``docs/cli.md`` and the generated sections of ``docs/data-model.md``
(between ``<!-- BEGIN GENERATED: NAME -->`` and ``<!-- END GENERATED: NAME -->``). Tests fail when the committed
docs differ from what this produces, so the docs cannot drift from the code.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import click

from watchkeeper import schema
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


def render_data_model(text: str) -> str:
    """Replace every generated section of ``text`` with its current content."""
    for name, body in generated_sections().items():
        pat = re.compile(rf"(<!-- BEGIN GENERATED: {name} -->\n).*?(<!-- END GENERATED: {name} -->)", re.S)
        if not pat.search(text):
            raise SystemExit(f"docs/data-model.md lacks the generated section {name!r}")
        text = pat.sub(lambda m: m.group(1) + body + "\n" + m.group(2), text)
    return text


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
    (ROOT / "docs" / "cli.md").write_text(render_cli())
    print(f"wrote {dm} and {ROOT / 'docs' / 'cli.md'}", file=sys.stderr)


if __name__ == "__main__":
    main()
