"""The ``watchkeeper`` command line: a thin shell that parses options, calls the library and prints summaries.

Library errors (:class:`watchkeeper.errors.WatchkeeperError`) are printed as ``error: WHERE: WHAT`` plus a
``fix:`` line, with a non-zero exit status and no traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn
from rich.table import Table

from watchkeeper import __version__, schema
from watchkeeper.errors import ConfigError, WatchkeeperError

err = Console(stderr=True, highlight=False, width=None if sys.stderr.isatty() else 160)
out = Console(highlight=False, width=None if sys.stdout.isatty() else 160)

EXIT_USER_ERROR = 2
EXIT_SOME_FAILED = 1


class WatchkeeperGroup(click.Group):
    """Turns library errors into readable messages, never tracebacks."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except WatchkeeperError as exc:
            err.print(f"[bold red]error:[/] {exc.render()}", markup=True, soft_wrap=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            err.print("interrupted: nothing half-written was kept; run the command again to finish")
            sys.exit(130)
        except BrokenPipeError:
            sys.exit(0)


@click.group(cls=WatchkeeperGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="watchkeeper")
def cli() -> None:
    """Watchkeeper: open-source sanctions monitoring for shipping.

    Raw AIS (NMEA or CSV) goes into an embedded store (DuckDB + Parquet); later stages find behaviour events,
    screen vessels against sanctions lists and write evidence dossiers.
    """


# -- ingest ---------------------------------------------------------------------------------------------

@cli.command()
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option("--db", "db", required=True, type=click.Path(file_okay=False), help="Store directory (created if new).")
@click.option("--columns", "columns", default=None, metavar="MAP",
              help="Column mapping for CSV files Watchkeeper does not recognise, e.g. "
                   "'mmsi=MMSI,ts=Time,lat=Lat,lon=Lon' (see docs/csv-formats.md).")
@click.option("--time-format", "time_format", default=None, metavar="FMT",
              help="strptime format of the time column with --columns, e.g. '%d/%m/%Y %H:%M:%S' "
                   "(default: ISO 8601 or UNIX seconds).")
@click.option("--dedup-window-s", default=60.0, show_default=True, type=click.FloatRange(0, 3600),
              help="Messages with identical content received within this many seconds count once.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar; summary only.")
def ingest(paths: tuple[str, ...], db: str, columns: str | None, time_format: str | None, dedup_window_s: float,
           quiet: bool) -> None:
    """Decode AIS files (NMEA, .gz, CSV) into the store at --db, accounting for every line.

    Several files may be given at once (e.g. a positions CSV and a statics CSV, or one file per receiver);
    duplicates across them count once. A file already ingested (same SHA-256) is skipped. Rejected lines are
    kept in the store's quarantine table with their reason. Exits 1 if any file could not be ingested.
    """
    from watchkeeper.ingest import csv as csv_reader
    from watchkeeper.ingest.pipeline import ingest_paths
    from watchkeeper.store import Store

    mapping = csv_reader.parse_mapping(columns) if columns else None
    if time_format and not mapping:
        raise ConfigError("--time-format only applies with --columns", fix="add --columns, or drop --time-format")
    with Store.open(db, create=True) as store:
        for sid, name in store.recovered:
            err.print(f"recovered: removed the unfinished ingest of {name} (source {sid}); it is ingested afresh")
        show = not quiet and err.is_terminal
        with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                      TimeRemainingColumn(), console=err, disable=not show, transient=True) as bar:
            tasks: dict[str, int] = {}

            def progress(path: str, done: int, total: int) -> None:
                if path not in tasks:
                    tasks[path] = bar.add_task(Path(path).name[:40], total=total)
                bar.update(tasks[path], completed=done)

            results = ingest_paths(store, list(paths), mapping=mapping, ts_format=time_format, progress=progress,
                                   dedup_window_s=dedup_window_s)
    _print_ingest_summary(results, db)
    if any(r.status == "error" for r in results):
        sys.exit(EXIT_SOME_FAILED)


def _print_ingest_summary(results, db: str) -> None:
    t = Table(title="ingest summary", title_justify="left")
    for col in ("file", "format", "lines", *schema.ACCOUNT_FIELDS, "positions", "statics"):
        t.add_column(col, justify="left" if col in ("file", "format") else "right")
    total: dict[str, int] = {}
    for r in results:
        if r.status == "ingested":
            c = r.counts
            t.add_row(r.path, r.fmt, *(f"{c[k]:,}" for k in ("lines_in", *schema.ACCOUNT_FIELDS, "positions",
                                                              "statics")))
            for k in ("lines_in", *schema.ACCOUNT_FIELDS, "positions", "statics"):
                total[k] = total.get(k, 0) + c[k]
    if len([r for r in results if r.status == "ingested"]) > 1:
        t.add_row("total", "", *(f"{total[k]:,}" for k in ("lines_in", *schema.ACCOUNT_FIELDS, "positions",
                                                            "statics")), style="bold")
    if any(r.status == "ingested" for r in results):
        out.print(t)
    for r in results:
        if r.status == "already":
            p = r.previous or {}
            out.print(f"{r.path}: already ingested as source {r.source_id} on {str(p.get('ingested_at', ''))[:19]} "
                      f"(same SHA-256); nothing done")
    reasons: dict[str, int] = {}
    for r in results:
        for k, v in r.reasons.items():
            reasons[k] = reasons.get(k, 0) + v
    if reasons:
        out.print("not decoded (kept in quarantine): " + ", ".join(f"{k} {v:,}" for k, v in sorted(
            reasons.items(), key=lambda kv: -kv[1])))
    for r in results:
        if r.status == "ingested" and not r.balanced:  # an internal error: say it loudly
            err.print(f"[bold red]accounting mismatch[/] in {r.path}: {dict(r.counts)}")
        if r.status == "error":
            err.print(f"[bold red]error:[/] {r.error.render()}", soft_wrap=True)
    out.print(f"store: {Path(db).resolve()}")


# -- stats ----------------------------------------------------------------------------------------------

@cli.command()
@click.option("--db", "db", required=True, type=click.Path(file_okay=False), help="Store directory.")
@click.option("--json", "as_json", is_flag=True, help="Print the statistics as one JSON object.")
def stats(db: str, as_json: bool) -> None:
    """Summarise a store: inputs with their hashes and line accounting, rows, vessels, time span, rejects."""
    import json

    from watchkeeper.store import Store
    from watchkeeper.store.stats import store_stats

    with Store.open(db) as store:
        s = store_stats(store)
    if as_json:
        click.echo(json.dumps(s, indent=2, default=str))
        return
    t = Table(title=f"store {s['root']}", title_justify="left", show_header=False)
    t.add_column("what")
    t.add_column("value", justify="right")
    for k in ("sources", "lines_in", *schema.ACCOUNT_FIELDS, "positions", "statics", "vessels", "first", "last",
              "days"):
        v = s[k]
        t.add_row(k, f"{v:,}" if isinstance(v, int) else str(v))
    out.print(t)
    if s["quarantine_by_reason"]:
        q = Table(title="quarantine by reason", title_justify="left")
        q.add_column("reason")
        q.add_column("lines", justify="right")
        for k, v in s["quarantine_by_reason"].items():
            q.add_row(k, f"{v:,}")
        out.print(q)
    src = Table(title="inputs (provenance ledger)", title_justify="left")
    for col in ("id", "name", "format", "sha256", "lines", "decoded", "rejected", "dup", "status"):
        src.add_column(col)
    for r in s["ledger"]:
        src.add_row(str(r["source_id"]), r["name"], r["format"], r["sha256"][:16] + "…", f"{r['lines_in']:,}",
                    f"{r['decoded']:,}", f"{r['rejected']:,}", f"{r['duplicates']:,}", r["status"])
    out.print(src)


# -- detect ---------------------------------------------------------------------------------------------

@cli.command()
@click.option("--db", "db", required=True, type=click.Path(file_okay=False), help="Store directory.")
@click.option("--config", "config_path", default=None, type=click.Path(dir_okay=False), metavar="FILE",
              help="TOML file of threshold overrides (default: the documented defaults, docs/detections.md).")
@click.option("--workers", type=click.IntRange(min=1), default=None, metavar="N",
              help="Worker processes for a store larger than one partition (default: the CPUs available).")
@click.option("--partition-rows", type=click.IntRange(min=1000), default=None, metavar="N",
              help="Positions per partition of the vessels; bounds memory (default: 1,000,000).")
def detect(db: str, config_path: str | None, workers: int | None, partition_rows: int | None) -> None:
    """Find behaviour events in the store at --db and write them to it, replacing the previous run's events.

    Runs every detector (port visits, AIS gaps, dark port calls, activity surges, encounters, loitering,
    position jumps, MMSI conflicts, identity changes, invalid identities) on the store's positions and statics. The same store and configuration always
    give the same events (ids and rows), whatever --workers and --partition-rows. Export them with `watchkeeper
    events`.

    A store of more than --partition-rows positions (or of 400,000 or more, when several workers can be started
    quickly) is split into partitions of the vessels, detected in parallel with memory bounded by the partition
    size (docs/performance.md).
    """
    from watchkeeper.config import load_config
    from watchkeeper.engines.local import run_detection
    from watchkeeper.store import Store

    config = load_config(config_path)
    with Store.open(db) as store:
        counts = run_detection(store, config, workers=workers, partition_rows=partition_rows)
        run = store.detect_runs().to_pylist()[-1]
    t = Table(title="detect summary", title_justify="left")
    t.add_column("event type")
    t.add_column("events", justify="right")
    for k, v in counts.items():
        t.add_row(k, f"{v:,}")
    t.add_row("total", f"{sum(counts.values()):,}", style="bold")
    out.print(t)
    out.print(f"run {run['run_id']}: {run['positions']:,} positions, config sha256 {run['config_sha256'][:16]}…")
    out.print(f"events: table `events` of {Path(db).resolve() / 'watchkeeper.duckdb'}; "
              f"export with `watchkeeper events --db {db} --format jsonl`")


# -- events ---------------------------------------------------------------------------------------------

def _parse_time(text: str, option: str, end_of_day: bool):
    import datetime as dt

    try:
        if len(text) == 10:  # a bare date
            d = dt.date.fromisoformat(text)
            t = dt.datetime.combine(d, dt.time.max if end_of_day else dt.time.min)
        else:
            t = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"not an ISO 8601 date or time: {text!r}", where=option,
                          fix=f"give e.g. {option} 2021-03-20 or {option} 2021-03-20T12:00:00Z "
                              "(times without a zone are UTC)") from None
    return t.replace(tzinfo=dt.UTC) if t.tzinfo is None else t.astimezone(dt.UTC)


@cli.command()
@click.option("--db", "db", required=True, type=click.Path(file_okay=False), help="Store directory.")
@click.option("--type", "types", multiple=True, metavar="T",
              help="Only events of this type (repeat for several, or separate with commas).")
@click.option("--mmsi", "mmsi", type=int, default=None, metavar="M", help="Only events about this MMSI.")
@click.option("--since", "since", default=None, metavar="ISO",
              help="Only events that end at or after this UTC time (ISO 8601; a bare date is its start).")
@click.option("--until", "until", default=None, metavar="ISO",
              help="Only events that start at or before this UTC time (ISO 8601; a bare date is its end).")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv", "geojson"]), default="jsonl",
              show_default=True, help="JSON Lines (the public contract), CSV or a GeoJSON FeatureCollection.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), default="-",
              help="Output file (default: standard output).")
def events(db: str, types: tuple[str, ...], mmsi: int | None, since: str | None, until: str | None, fmt: str,
           output: str) -> None:
    """Export the events that `watchkeeper detect` wrote to the store at --db, optionally filtered.

    Filters combine with AND; --since/--until keep the events whose [start, end] overlaps the interval.
    The JSON Lines fields are described in docs/detections.md.
    """
    from watchkeeper.detect import events as ev
    from watchkeeper.store import Store

    wanted = [t.strip() for arg in types for t in arg.split(",") if t.strip()]
    bad = [t for t in wanted if t not in ev.EVENT_TYPES]
    if bad:
        raise ConfigError(f"unknown event type {', '.join(map(repr, bad))}", where="--type",
                          fix=f"use one of: {', '.join(ev.EVENT_TYPES)}")
    where, params = [], []
    if wanted:
        where.append(f"type IN ({', '.join('?' for _ in wanted)})")
        params += wanted
    if mmsi is not None:
        where.append("mmsi = ?")
        params.append(mmsi)
    lo = _parse_time(since, "--since", end_of_day=False) if since else None
    hi = _parse_time(until, "--until", end_of_day=True) if until else None
    if lo is not None and hi is not None and lo > hi:
        raise ConfigError(f"--since {since} is after --until {until}", where="--since/--until",
                          fix="give a --since at or before --until")
    if lo is not None:
        where.append('"end" >= ?')
        params.append(lo)
    if hi is not None:
        where.append("start <= ?")
        params.append(hi)
    with Store.open(db) as store:
        table = store.events_table(" AND ".join(where), params)
    writer = {"jsonl": ev.to_jsonl, "csv": ev.to_csv, "geojson": ev.to_geojson}[fmt]
    if output == "-":
        n = writer(table, sys.stdout)
        sys.stdout.flush()
    else:
        with open(output, "w", encoding="utf-8", newline="") as f:
            n = writer(table, f)
        err.print(f"{n:,} events written to {output}")


# -- decode ---------------------------------------------------------------------------------------------

@cli.command()
@click.argument("file", type=str, metavar="FILE")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True,
              help="Output: JSON Lines or CSV with the canonical field names.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), default="-",
              help="Output file (default: standard output).")
@click.option("--rejects", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Also write the lines that were not decoded, with their reason, as JSON Lines to this file.")
@click.option("--quiet", "-q", is_flag=True, help="No line-accounting summary on standard error.")
def decode(file: str, fmt: str, output: str, rejects: str | None, quiet: bool) -> None:
    """Decode NMEA AIS (FILE, .gz, or - for standard input) to one message per line, without a store.

    Each output row holds the canonical fields of docs/data-model.md (positions and statics fields together,
    empty where a message type has none) plus msg_type and the input line number.
    """
    from watchkeeper.ingest.decode_out import decode_to

    counts = decode_to(file, fmt, output, rejects)
    if not quiet:
        acc = ", ".join(f"{k} {counts[k]:,}" for k in schema.ACCOUNT_FIELDS)
        err.print(f"{file}: {counts['lines_in']:,} lines = {acc}; {counts['messages']:,} messages")


# -- demo -----------------------------------------------------------------------------------------------

@cli.command()
@click.option("--out", "out_dir", default="out/demo", show_default=True, type=click.Path(file_okay=False),
              help="Where to write the scenario, the store and the dossiers (replaced if it is an earlier demo).")
@click.option("--seed", default=7, show_default=True, type=int, help="Seed of the simulated week.")
@click.option("--days", default=7.0, show_default=True, type=click.FloatRange(1, 60), help="Length of the scenario.")
@click.option("--vessels", default=60, show_default=True, type=click.IntRange(30, 2000),
              help="Transmitters in the scenario (the special actors need about 30).")
@click.option("--top", default=3, show_default=True, type=click.IntRange(1, 100), help="Dossiers to write.")
@click.option("--no-pdf", is_flag=True, help="HTML dossiers only (no WeasyPrint rendering).")
def demo(out_dir: str, seed: int, days: float, vessels: int, top: int, no_pdf: bool) -> None:
    """The main job, end to end, on a simulated week of the DPRK-Russia corridor: simulate, ingest, detect,
    screen against the bundled sanctions lists, rank by risk, write dossiers, and score detection against the
    simulator's truth. Prints the headline findings and where everything is."""
    from watchkeeper.demo import run_demo

    run_demo(out_dir, out, seed=seed, days=days, vessels=vessels, top=top, pdf=not no_pdf)


# -- commands defined in their stage's module ----------------------------------------------------------
# One line per command group; each module defines click commands and imports nothing heavy at import time.
from watchkeeper.simulate.cli import simulate  # noqa: E402
cli.add_command(simulate)
from watchkeeper.simulate.cli import evaluate  # noqa: E402
cli.add_command(evaluate)
from watchkeeper.sanctions.cli import lists, screen, vessel  # noqa: E402

cli.add_command(lists)
cli.add_command(screen)
cli.add_command(vessel)
from watchkeeper.report.cli import export, report, verify  # noqa: E402

cli.add_command(report)
cli.add_command(verify)
cli.add_command(export)
from watchkeeper.risk_cli import risk  # noqa: E402
cli.add_command(risk)


def main() -> None:
    cli(prog_name="watchkeeper")


if __name__ == "__main__":
    main()
