"""``watchkeeper lists load|show``, ``watchkeeper screen`` and ``watchkeeper vessel``: thin click commands.

Nothing heavy is imported at import time (followthemoney, lxml and rapidfuzz load inside the commands), so
``watchkeeper --help`` stays fast. Library errors reach the root group, which prints them as error/fix lines.
"""

from __future__ import annotations

import json
import sys

import click

_DB = click.option("--db", "db", required=True, type=click.Path(file_okay=False), help="Store directory.")


def _out():
    from watchkeeper.cli import out

    return out


@click.group()
def lists() -> None:
    """Sanctions lists: load list files into the store and show what is loaded."""


@lists.command("load")
@click.argument("files", nargs=-1, metavar="FILE...")
@click.option("--db", "db", required=True, type=click.Path(file_okay=False),
              help="Store directory (created if new).")
@click.option("--fetch", "fetch", multiple=True, type=click.Choice(["un", "ofac", "canada"]),
              help="Download the publisher's current list first (needs network); may be repeated.")
@click.option("--fetch-timeout-s", default=60.0, show_default=True, type=click.FloatRange(0.1, 3600),
              help="Give up a download after this many seconds without progress.")
def lists_load(files: tuple[str, ...], db: str, fetch: tuple[str, ...], fetch_timeout_s: float) -> None:
    """Load sanctions list FILEs (UN XML, OFAC sdn.csv / XML / advanced XML, Canada SEMA XML, FtM JSON lines;
    gzipped or not) into the store at --db.

    The format is recognised from the content. Loading the current snapshot of a list again changes nothing;
    a new snapshot of a list replaces that list's entities.
    """
    from rich.table import Table

    from watchkeeper.errors import ConfigError
    from watchkeeper.sanctions import store as sstore
    from watchkeeper.store import Store

    if not files and not fetch:
        raise ConfigError("nothing to load", where="lists load", fix="give list FILEs or --fetch un|ofac|canada")
    paths = list(files)
    from pathlib import Path

    for f in paths:  # check inputs before touching the store
        if not Path(f).is_file():
            from watchkeeper.errors import InputError

            raise InputError("no such file", where=f, fix="check the path")
    if fetch:
        from watchkeeper.errors import InputError

        if not Path(db).joinpath("watchkeeper.duckdb").exists() and Path(db).exists() and any(Path(db).iterdir()):
            raise InputError("directory is not empty and is not a Watchkeeper store", where=db,
                             fix="choose a new or empty directory for --db")
    import tempfile

    with tempfile.TemporaryDirectory(prefix="wk-fetch-") as tmpdir:
        for source in fetch:  # all downloads first: a failure leaves the store untouched
            paths.append(str(sstore.fetch(source, tmpdir, timeout_s=fetch_timeout_s)))
        with Store.open(db, create=True) as store:
            results = sstore.load_files(store, paths)
    t = Table(title=f"sanctions lists → {db}")
    for c in ("file", "format", "list", "status", "entities", "vessels", "sanctions", "identifiers", "fraudulent"):
        t.add_column(c, justify="right" if c in ("entities", "vessels", "sanctions", "identifiers", "fraudulent")
                     else "left")
    for r in results:
        t.add_row(r["name"], r["format"], r["list_source"], r["status"], *(f"{r[k]:,}" for k in
                  ("entities", "vessels", "sanctions", "identifiers", "fraudulent")))
    _out().print(t)


@lists.command("show")
@_DB
def lists_show(db: str) -> None:
    """Show the list files loaded in the store: list, format, SHA-256, when, counts; replaced ones marked."""
    from rich.table import Table

    from watchkeeper.sanctions.store import list_files
    from watchkeeper.store import Store

    with Store.open(db) as store:
        files = list_files(store).to_pylist()
    if not files:
        _out().print("no sanctions lists loaded; run `watchkeeper lists load FILE --db DIR`")
        return
    t = Table(title=f"sanctions lists in {db}")
    for c in ("list", "file", "format", "sha256", "loaded at (UTC)", "entities", "vessels", "sanctions",
              "identifiers", "fraudulent", "current"):
        t.add_column(c)
    for f in files:
        t.add_row(f["list_source"], f["name"], f["format"], f["sha256"][:12], f["loaded_at"].strftime("%Y-%m-%d %H:%M"),
                  *(f"{f[k]:,}" for k in ("n_entities", "n_vessels", "n_sanctions", "n_identifiers", "n_fraudulent")),
                  "yes" if f["current"] else "replaced")
    _out().print(t)


def _require_lists(store, db: str) -> None:
    from watchkeeper.errors import StoreError
    from watchkeeper.sanctions.store import has_lists

    if not has_lists(store):
        raise StoreError("no sanctions lists loaded in this store", where=db,
                         fix=f"run `watchkeeper lists load FILE --db {db}` first")


def _jsonable(row: dict) -> dict:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()}


@click.command()
@_DB
@click.option("--min-score", default=0.5, show_default=True, type=click.FloatRange(0, 1),
              help="Leave out matches scoring below this.")
@click.option("--format", "fmt", type=click.Choice(["table", "jsonl"]), default="table", show_default=True,
              help="Output format.")
def screen(db: str, min_score: float, fmt: str) -> None:
    """Screen every AIS identity in the store (MMSI, IMO, name, call sign) against the loaded sanctions lists.

    Writes the store's `screening` table (all matches) and prints those scoring at least --min-score,
    strongest first, each with what matched, what conflicts and the listing.
    """
    from rich.table import Table

    from watchkeeper.sanctions.screen import screen_store
    from watchkeeper.store import Store

    with Store.open(db) as store:
        _require_lists(store, db)
        result = screen_store(store)
    rows = [r for r in result.to_pylist() if r["score"] >= min_score]
    if fmt == "jsonl":
        for r in rows:
            sys.stdout.write(json.dumps(_jsonable(r), ensure_ascii=False) + "\n")
        return
    t = Table(title=f"{len(rows):,} matches (score ≥ {min_score}) of {result.num_rows:,}")
    for c in ("score", "kind", "mmsi", "imo", "name", "listed", "list", "programs", "conflicts"):
        t.add_column(c)
    for r in rows:
        t.add_row(f"{r['score']:.2f}", r["match_kind"], str(r["mmsi"] or ""), str(r["imo"] or ""),
                  r["shipname"] or "", r["entity_caption"] or "", r["list_source"], ", ".join(r["programs"]),
                  ", ".join(r["conflicts"]))
    _out().print(t)


@click.command()
@click.argument("query", metavar="MMSI|IMO")
@_DB
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Output format.")
def vessel(query: str, db: str, fmt: str) -> None:
    """One vessel by MMSI (9 digits) or IMO (7 digits): identity history (names, call signs, IMOs, MID flags,
    ship types, first/last seen), sanctions-list matches with their explanation, and its events."""
    from rich.table import Table

    from watchkeeper.sanctions.screen import vessel_report
    from watchkeeper.store import Store

    with Store.open(db) as store:
        rep = vessel_report(store, query)
    if fmt == "json":
        doc = {"mmsis": rep["mmsis"], "history": [_jsonable(r) for r in rep["history"].to_pylist()],
               "matches": [_jsonable(r) for r in rep["matches"].to_pylist()],
               "events": None if rep["events"] is None else [_jsonable(r) for r in rep["events"].to_pylist()]}
        sys.stdout.write(json.dumps(doc, ensure_ascii=False, default=str) + "\n")
        return
    out = _out()
    h = Table(title=f"identity history of {query}")
    for c in ("mmsi", "flag (MID)", "imo", "name", "call sign", "ship type", "first seen", "last seen", "reports"):
        h.add_column(c)
    for r in rep["history"].to_pylist():
        h.add_row(str(r["mmsi"]), r["flag_mid"] or "", str(r["imo"] or ""), r["shipname"] or "", r["callsign"] or "",
                  str(r["ship_type"] or ""), str(r["first_seen"] or ""), str(r["last_seen"] or ""), str(r["n_reports"]))
    out.print(h if rep["history"].num_rows else f"no AIS identity seen for {query} in this store")
    matches = rep["matches"].to_pylist()
    out.print(f"\n{len(matches)} sanctions-list match(es)" if matches else "\nno sanctions-list match")
    for r in matches:
        out.print(f"- [{r['match_kind']} {r['score']:.2f}] {r['entity_caption']}: {r['explanation']}", markup=False)
    if rep["events"] is None:
        out.print("\nevents: none stored (run `watchkeeper detect` first)")
    else:
        ev = rep["events"].to_pylist()
        out.print(f"\n{len(ev)} event(s)")
        for e in ev:
            out.print(f"- {e['type']} {e['start']} → {e['end']}", markup=False)
