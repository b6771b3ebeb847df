"""``watchkeeper report``, ``watchkeeper verify`` and ``watchkeeper export``: thin click commands.

Nothing heavy is imported at import time (WeasyPrint, shapely and followthemoney load inside the commands).
Library errors reach the root group, which prints them as error/fix lines.
"""

from __future__ import annotations

import sys

import click

_DB = click.option("--db", "db", required=True, type=click.Path(file_okay=False), help="Store directory.")
_CONFIG = click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
                       help="TOML file of detection thresholds (the ones the events were detected with); "
                            "default: the built-in defaults.")


def _err():
    from watchkeeper.cli import err

    return err


@click.command()
@_DB
@click.option("--vessel", default=None, metavar="MMSI|IMO",
              help="One vessel: an MMSI (9 digits) or an IMO number (7 digits; every MMSI that broadcast it).")
@click.option("--top", type=click.IntRange(1), default=None, metavar="N",
              help="The N vessels with the highest risk score.")
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Dossier directory (new, empty, or a previous dossier, whose files are replaced).")
@_CONFIG
@click.option("--generated-at", default=None, metavar="ISO",
              help="Generation time to record (default: now). Fix it to compare two dossiers byte for byte.")
@click.option("--no-pdf", is_flag=True, help="Write HTML only (no WeasyPrint needed).")
def report(db: str, vessel: str | None, top: int | None, out_dir: str, config_path: str | None,
           generated_at: str | None, no_pdf: bool) -> None:
    """Evidence dossiers: for each vessel a self-contained HTML file and a PDF, plus manifest.json.

    Each dossier holds the vessel's identity history, sanctions matches, risk score, an offline track map, the
    timeline of events with the rule, thresholds and input lines behind each, and the provenance of every input
    file. Check a dossier later with `watchkeeper verify`.
    """
    from watchkeeper.config import load_config
    from watchkeeper.errors import ConfigError
    from watchkeeper.report.build import make_dossiers
    from watchkeeper.report.dossier import parse_generated_at
    from watchkeeper.store.catalogue import Store

    if (vessel is None) == (top is None):
        raise ConfigError("give exactly one of --vessel and --top", where="report",
                          fix="e.g. --vessel 273354260 or --top 10")
    config = load_config(config_path)
    when = parse_generated_at(generated_at)
    with Store.open(db) as store:
        manifest = make_dossiers(store, out_dir, config=config, generated_at=when, vessel=vessel, top=top,
                                 pdf=not no_pdf)
    for v in manifest["vessels"]:
        _err().print(f"{v['name'] or v['mmsis'][0]}: {v['events']} events -> {', '.join(v['files'])}")
    _err().print(f"{len(manifest['files'])} files and manifest.json written to {out_dir}")


@click.command()
@click.argument("directory", type=click.Path(file_okay=False, exists=True), metavar="DIR")
@click.option("--db", "db", default=None, type=click.Path(file_okay=False),
              help="The store the dossier was made from: its ledger must agree with the manifest, and the input "
                   "files are re-hashed at the ledger's paths.")
def verify(directory: str, db: str | None) -> None:
    """Check a dossier directory against its manifest.json (and the input files against their SHA-256).

    Reports every missing, changed or extra file and exits with status 1 when there is any; input files that
    are not found at their recorded paths are listed but not counted as failures.
    """
    from watchkeeper.report.verify import verify_dossier

    result = verify_dossier(directory, db=db)
    for line in result.lines():
        click.echo(line)
    if not result.ok:
        click.echo(f"FAILED: {directory} does not match its manifest", err=True)
        sys.exit(1)
    click.echo(f"OK: {directory} matches its manifest")


@click.command()
@_DB
@click.option("--format", "fmt", required=True, type=click.Choice(["geojson", "kml", "ftm", "geoparquet", "csv"]),
              help="geojson (QGIS, GeoPandas), kml (Google Earth), ftm (FollowTheMoney JSON lines for Aleph), "
                   "geoparquet (GeoParquet 1.0), csv.")
@click.option("-o", "--output", required=True, type=click.Path(), metavar="PATH",
              help="Output file (a directory for geoparquet and csv with --what all).")
@click.option("--what", type=click.Choice(["tracks", "events", "all"]), default="all", show_default=True,
              help="Tracks (one line per segment), events, or both.")
@_CONFIG
def export(db: str, fmt: str, output: str, what: str, config_path: str | None) -> None:
    """Export the store's tracks and events for GIS and investigation tools (see docs/dossiers.md)."""
    from watchkeeper.config import load_config
    from watchkeeper.report.exports import export as run_export
    from watchkeeper.store.catalogue import Store

    config = load_config(config_path)
    with Store.open(db) as store:
        counts = run_export(store, fmt, output, what=what, config=config)
    _err().print(", ".join(f"{n:,} {k}" for k, n in counts.items()) + f" written to {output}")
