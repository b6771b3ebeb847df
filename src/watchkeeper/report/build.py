"""Writing a dossier directory: one HTML and one PDF per vessel, an index and ``manifest.json``."""

from __future__ import annotations

from html import escape
from pathlib import Path

from watchkeeper import __version__
from watchkeeper.errors import InputError
from watchkeeper.report import html as html_mod
from watchkeeper.report.dossier import collect, select_vessels
from watchkeeper.report.manifest import (
    MANIFEST,
    build_manifest,
    read_manifest,
    write_manifest,
)
from watchkeeper.report.pdf import write_pdf


def make_dossiers(store, out_dir: str | Path, *, config, generated_at: str, vessel: str | None = None,
                  top: int | None = None, pdf: bool = True, gazetteer=None) -> dict:
    """Write the dossiers of ``vessel`` or of the ``top`` vessels into ``out_dir``; return the manifest.

    ``out_dir`` must be new, empty, or a previous dossier directory (whose listed files are replaced).
    """
    out = Path(out_dir)
    _prepare(out)
    groups = select_vessels(store, vessel=vessel, top=top)
    vessels, index_rows = [], []
    for mmsis in groups:
        d = collect(store, mmsis, config, generated_at, gazetteer=gazetteer)
        text = html_mod.render(d)
        files = [f"{d.key}.html"]
        (out / files[0]).write_text(text, encoding="utf-8")
        if pdf:
            files.append(f"{d.key}.pdf")
            write_pdf(text, out / files[1], generated_at=generated_at)
        vessels.append({"mmsis": d.mmsis, "name": d.name, "imo": d.imo, "events": len(d.events), "files": files})
        index_rows.append((d, files))
    (out / "index.html").write_text(_index(index_rows, generated_at), encoding="utf-8")
    inputs = [r for r in store.ledger().to_pylist()]
    for r in inputs:
        r["ingested_at"] = r["ingested_at"].isoformat().replace("+00:00", "Z")
    manifest = build_manifest(out, generated_at=generated_at, software_version=__version__, config=config,
                              inputs=inputs, vessels=vessels)
    write_manifest(out, manifest)
    return manifest


def _prepare(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise InputError("is a file, not a directory", where=str(out), fix="give -o a new or empty directory")
    out.mkdir(parents=True, exist_ok=True)
    entries = [p for p in out.iterdir()]
    if not entries:
        return
    if not (out / MANIFEST).is_file():
        raise InputError("directory is not empty and holds no dossier", where=str(out),
                         fix="give -o a new or empty directory, so nothing of yours is overwritten")
    old = read_manifest(out)
    for f in old["files"]:
        p = out / f["path"]
        if p.is_file():
            p.unlink()
    (out / MANIFEST).unlink()


def _index(rows, generated_at: str) -> str:
    items = "".join(
        f"<tr><td>{escape(d.name or '')}</td><td>{', '.join(str(m) for m in d.mmsis)}</td><td>{d.imo or ''}</td>"
        f"<td>{'' if d.risk is None else format(d.risk['score'], '.1f')}</td><td>{len(d.events)}</td><td>"
        + " ".join(f'<a href="{escape(f)}">{escape(f.rsplit(".", 1)[1].upper())}</a>' for f in files)
        + "</td></tr>" for d, files in rows)
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Watchkeeper dossiers</title>"
            f"<style>{html_mod.CSS}</style></head><body><h1>Watchkeeper dossiers</h1>"
            f"<p class=\"generated\">Generated at {escape(generated_at)}.</p>"
            "<table><thead><tr><th>Name</th><th>MMSI</th><th>IMO</th><th>Risk</th><th>Events</th><th>Files</th>"
            f"</tr></thead><tbody>{items}</tbody></table><p class=note>Check every file with "
            "<code>watchkeeper verify</code> against manifest.json.</p></body></html>\n")
