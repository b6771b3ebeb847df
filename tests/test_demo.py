"""The main job end to end (``watchkeeper demo``) on a short corridor scenario: outputs, ranking, quality floor."""

from __future__ import annotations

import json

from click.testing import CliRunner
from rich.console import Console

from watchkeeper.cli import cli
from watchkeeper.demo import run_demo
from watchkeeper.simulate.scenario import LISTED_SHUTTLES

# Macro-F1 floor of this scenario (3 days, 30 transmitters, seed 2, the hardest of those measured). Measured:
# 0.935 on seed 2 (two spoofed jumps hidden by coverage holes), 0.993 on seeds 1 and 3 (7-day, 60-transmitter
# weeks: 0.988-0.996 on seeds 1, 2, 3, 7). About nine types are present in the truth, so one detector collapsing
# to F1 0 costs at least 0.11: a floor 0.05 under the lowest measured value fails on any collapsed type while
# tolerating the variation measured between seeds.
MACRO_F1_FLOOR = 0.885


def test_demo_end_to_end(tmp_path):
    console = Console(record=True, width=160)
    out = tmp_path / "demo"
    res = run_demo(str(out), console, seed=2, days=3.0, vessels=30, top=2, pdf=False)
    text = console.export_text()
    assert "Headline findings" in text and "Outputs" in text
    # every promised output exists
    paths = res["paths"]
    for key in ("scenario", "truth", "store", "dossiers"):
        assert paths[key].exists(), key
    assert len(paths["dossier_files"]) == 2 and all(f.exists() for f in paths["dossier_files"])
    # the listed shuttles (real sanctioned identities, going dark to Rajin) are what an analyst sees first
    # (a list match plus dark port calls at Rajin outweighs everything the background traffic does)
    listed = {imo for _, imo in LISTED_SHUTTLES}
    n_listed = sum(1 for _, imo, _ in res["ranked"] if imo in listed)
    assert n_listed >= 1 and all(imo in listed for _, imo, _ in res["ranked"][:n_listed]), res["ranked"][:5]
    assert any(name in text for name, _ in LISTED_SHUTTLES)
    # detection quality against the simulator's truth
    scores = res["scores"]
    assert scores["macro_f1"] >= MACRO_F1_FLOOR, json.dumps({t: v["f1"] for t, v in scores["types"].items()})
    # the dossiers verify against their manifest and the store's inputs
    r = CliRunner().invoke(cli, ["verify", str(paths["dossiers"]), "--db", str(paths["store"])])
    assert r.exit_code == 0, r.output
