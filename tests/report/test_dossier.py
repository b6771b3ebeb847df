"""Dossiers made from a real store (synthetic voyage ingested and detected): content, PDF, offline HTML,
reproducibility and verification."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pytest
from click.testing import CliRunner
from report_voyage import IMO_A, A, B

from watchkeeper.cli import cli
from watchkeeper.report import riskscore
from watchkeeper.store.catalogue import Store

GENERATED = "2024-05-01T12:00:00Z"


def fake_risk(store) -> pa.Table:
    """A risk table with the columns of watchkeeper.risk.vessel_risk, so these tests do not depend on its weights."""
    ev = store.events_table(f"mmsi = {A} AND type = 'dark_port_call'")
    contrib = [{"indicator": "dark_port_call", "points": 30.0, "weight": 30.0, "unit": "confidence", "value": 0.6,
                "sentence": "A possible dark port call at a DPRK port.", "event_ids": ev.column("event_id").to_pylist(),
                "match_ids": [], "source": "events"}]
    return pa.table({"rank": pa.array([1, 2], pa.int32()), "mmsi": pa.array([A, B], pa.int32()),
                     "name": ["SPARTA IV", "OCEAN STAR"], "imo": pa.array([IMO_A, None], pa.int32()),
                     "flag": ["Russian Federation", "Panama"], "score": [42.0, 3.0],
                     "contributions": [json.dumps(contrib), "[]"], "n_events": pa.array([7, 2], pa.int32())})


@pytest.fixture(scope="module")
def fixed_risk():
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(riskscore, "risk_table", fake_risk)
        yield


def run_report(db: Path, out: Path, *extra: str):
    result = CliRunner().invoke(cli, ["report", "--db", str(db), "-o", str(out), "--generated-at", GENERATED,
                                      *extra])
    assert result.exit_code == 0, result.output
    return result


def has_weasyprint() -> bool:
    try:
        import weasyprint  # noqa: F401
    except (ImportError, OSError):  # OSError: Pango missing
        return False
    return True


PDF = has_weasyprint()
needs_pdf = pytest.mark.skipif(not PDF, reason="WeasyPrint (and Pango) not installed: no PDF rendered")


@pytest.fixture(scope="module")
def dossier(voyage_store, fixed_risk, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dossier") / "out"
    run_report(voyage_store, out, "--vessel", str(A), *([] if PDF else ["--no-pdf"]))
    return out


def vessel_events(db: Path) -> Counter:
    with Store.open(db) as store:
        return Counter(store.events_table(f"mmsi = {A}").column("type").to_pylist())


def count_pages(path: Path) -> int:
    """Pages of a PDF with pypdf, else poppler's pdfinfo (WeasyPrint packs page objects in compressed streams,
    so counting "/Type /Page" in the bytes does not work)."""
    try:
        from pypdf import PdfReader
    except ImportError:
        if not shutil.which("pdfinfo"):
            pytest.skip("neither pypdf nor pdfinfo (poppler-utils) is installed: PDF pages not counted")
        info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
        return int(re.search(r"^Pages:\s+(\d+)", info, re.MULTILINE).group(1))
    return len(PdfReader(path).pages)


@needs_pdf
def test_files_and_manifest(dossier):
    manifest = json.loads((dossier / "manifest.json").read_text())
    names = sorted(p.name for p in dossier.iterdir())
    assert names == ["index.html", "manifest.json", f"vessel-{A}.html", f"vessel-{A}.pdf"]
    assert [f["path"] for f in manifest["files"]] == ["index.html", f"vessel-{A}.html", f"vessel-{A}.pdf"]
    assert manifest["generated_at"] == GENERATED
    assert len(manifest["config_sha256"]) == 64 and manifest["inputs"][0]["name"].endswith("voyage.csv")
    assert re.fullmatch(r"[0-9a-f]{64}", manifest["inputs"][0]["sha256"])


def test_html_content(dossier, voyage_store):
    html = (dossier / f"vessel-{A}.html").read_text()
    counts = vessel_events(voyage_store)
    for text in ("SPARTA IV", "ANGARA", str(A), str(IMO_A), "UBCI5", "Russian Federation", "42.0",
                 "A possible dark port call at a DPRK port.", "voyage.csv", GENERATED):
        assert text in html, text
    assert html.count('<div class="event">') == sum(counts.values())
    # every event's rule and its supporting lines; the dark port call lists its reachable ports
    assert html.count("Supporting input lines") == sum(counts.values())
    assert "Reachable ports of interest" in html and "Najin" in html
    # the speed charts of gaps, dark port calls, loitering and encounters
    charted = sum(n for t, n in counts.items() if t in ("ais_gap", "dark_port_call", "loitering", "encounter"))
    assert html.count('class="chart"') == charted
    # map: land, numbered markers, ports of interest in view
    svg = html[html.index('class="map"'):html.index("</svg>", html.index('class="map"'))]
    assert 'fill="#f3f0e6"' in svg and "Vladivostok" in svg and "Najin" in svg
    assert len(re.findall(r'font-weight="bold" font-size="9.5">\d+</text>', svg)) >= counts["encounter"] + 1


def test_html_loads_nothing_remote(dossier):
    for name in ("index.html", f"vessel-{A}.html"):
        html = (dossier / name).read_text()
        html = re.sub(r'xmlns="http://www\.w3\.org/2000/svg"', "", html)  # a namespace name, never fetched
        assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:|//)""", html, re.IGNORECASE)
        assert not re.search(r"""url\(\s*["']?\s*(https?:|//)""", html, re.IGNORECASE)
        assert not re.search(r"<(script|link|iframe|img)\b", html, re.IGNORECASE)
        assert "@import" not in html and "@font-face" not in html


@needs_pdf
def test_pdf_pages_and_text(dossier, voyage_store):
    pdf = (dossier / f"vessel-{A}.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-")
    pages = count_pages(dossier / f"vessel-{A}.pdf")
    assert 4 <= pages <= 20
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext (poppler-utils) not installed: PDF text not checked")
    text = subprocess.run(["pdftotext", "-layout", str(dossier / f"vessel-{A}.pdf"), "-"], capture_output=True,
                          text=True, check=True).stdout
    counts = vessel_events(voyage_store)
    assert "SPARTA IV" in text and str(A) in text and str(IMO_A) in text
    assert f"Events                {sum(counts.values())}:" in text or f"{sum(counts.values())}: " in text
    assert f"{counts['port_visit']} port visits" in text
    assert f"page 1 of {pages}" in text


@needs_pdf
def test_pdf_renders_to_png(dossier, tmp_path):
    if not shutil.which("pdftoppm"):
        pytest.skip("pdftoppm (poppler-utils) not installed")
    subprocess.run(["pdftoppm", "-r", "50", "-f", "2", "-l", "2", "-png", str(dossier / f"vessel-{A}.pdf"),
                    str(tmp_path / "page")], check=True)
    pngs = list(tmp_path.glob("page*.png"))
    assert len(pngs) == 1 and pngs[0].stat().st_size > 10_000


@needs_pdf
def test_reproducible(dossier, voyage_store, tmp_path):
    again = tmp_path / "again"
    run_report(voyage_store, again, "--vessel", str(A))
    for name in ("index.html", f"vessel-{A}.html", f"vessel-{A}.pdf", "manifest.json"):
        assert (again / name).read_bytes() == (dossier / name).read_bytes(), name
    # a rerun into the same directory replaces the dossier
    run_report(voyage_store, again, "--vessel", str(A), "--generated-at", "2024-06-01T00:00:00Z")
    assert "2024-06-01T00:00:00Z" in (again / f"vessel-{A}.html").read_text()


def test_imo_and_top_select_the_vessel(voyage_store, fixed_risk, tmp_path):
    run_report(voyage_store, tmp_path / "imo", "--vessel", str(IMO_A), "--no-pdf")
    assert (tmp_path / "imo" / f"vessel-{A}.html").is_file()
    run_report(voyage_store, tmp_path / "top", "--top", "2", "--no-pdf")
    assert sorted(p.name for p in (tmp_path / "top").glob("vessel-*")) == [f"vessel-{A}.html", f"vessel-{B}.html"]
    result = CliRunner().invoke(cli, ["report", "--db", str(voyage_store), "-o", str(tmp_path / "x"), "--vessel",
                                      "12345"])
    assert result.exit_code != 0 and "neither an MMSI" in result.output


def test_report_refuses_a_directory_of_other_files(voyage_store, tmp_path):
    (tmp_path / "mine.txt").write_text("keep me")
    result = CliRunner().invoke(cli, ["report", "--db", str(voyage_store), "-o", str(tmp_path), "--vessel", str(A),
                                      "--no-pdf"])
    assert result.exit_code != 0 and "not empty" in result.output
    assert (tmp_path / "mine.txt").read_text() == "keep me"


@needs_pdf
def test_verify(dossier, voyage_store, tmp_path):
    runner = CliRunner()
    ok = runner.invoke(cli, ["verify", str(dossier), "--db", str(voyage_store)])
    assert ok.exit_code == 0, ok.output
    assert "3 dossier file(s) match" in ok.output and "1 input file(s) re-hashed and match" in ok.output

    copy = tmp_path / "copy"
    shutil.copytree(dossier, copy)
    html = copy / f"vessel-{A}.html"
    data = bytearray(html.read_bytes())
    data[len(data) // 2] ^= 0x01
    html.write_bytes(bytes(data))
    bad = runner.invoke(cli, ["verify", str(copy)])
    assert bad.exit_code == 1
    assert f"CHANGED  vessel-{A}.html" in bad.output and "FAILED" in bad.output

    (copy / f"vessel-{A}.pdf").unlink()
    (copy / "notes.txt").write_text("added")
    bad = runner.invoke(cli, ["verify", str(copy)])
    assert f"MISSING  vessel-{A}.pdf" in bad.output and "EXTRA    notes.txt" in bad.output


def test_verify_inputs_against_the_ledger(dossier, voyage_store, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(dossier, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["inputs"][0]["sha256"] = "0" * 64
    (copy / "manifest.json").write_text(json.dumps(manifest))
    bad = CliRunner().invoke(cli, ["verify", str(copy), "--db", str(voyage_store)])
    assert bad.exit_code == 1 and "INPUT CHANGED" in bad.output and "voyage.csv" in bad.output


def test_verify_without_manifest(tmp_path):
    result = CliRunner().invoke(cli, ["verify", str(tmp_path)])
    assert result.exit_code != 0 and "manifest.json" in result.output
