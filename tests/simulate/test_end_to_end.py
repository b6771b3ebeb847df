"""simulate -> ingest -> detect -> evaluate on the small scenario, and the two commands."""

from __future__ import annotations

import json

from click.testing import CliRunner

from watchkeeper.cli import cli
from watchkeeper.engines.local import run_detection
from watchkeeper.evaluate import evaluate_store
from watchkeeper.ingest.pipeline import ingest_paths
from watchkeeper.store import Store


def test_pipeline_and_scores(small, tmp_path):
    db = tmp_path / "db"
    with Store.open(db, create=True) as store:
        (res,) = ingest_paths(store, [str(small.out_dir / "ais.nmea")])
        assert res.status == "ingested"
        run_detection(store)
    r = evaluate_store(small.out_dir / "truth.jsonl", db)
    assert r["truth_events"] > 10
    for t, v in r["types"].items():
        assert 0.0 <= v["precision"] <= 1.0 and 0.0 <= v["recall"] <= 1.0 and 0.0 <= v["f1"] <= 1.0, t
    assert 0.0 <= r["macro_f1"] <= 1.0
    print(json.dumps({t: (v["truth"], v["detected"], v["precision"], v["recall"], v["f1"])
                      for t, v in r["types"].items()}))

    out = CliRunner().invoke(cli, ["evaluate", "--truth", str(small.out_dir / "truth.jsonl"), "--db", str(db),
                                   "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["macro_f1"] == r["macro_f1"]
    out = CliRunner().invoke(cli, ["evaluate", "--truth", str(small.out_dir / "truth.jsonl"), "--db", str(db)])
    assert out.exit_code == 0 and "macro-F1" in out.output


def test_simulate_command(tmp_path):
    out = CliRunner().invoke(cli, ["simulate", "--days", "0.3", "--vessels", "10", "--seed", "4", "-o",
                                   str(tmp_path / "s"), "--no-csv"])
    assert out.exit_code == 0, out.output
    sc = json.loads((tmp_path / "s" / "scenario.json").read_text())
    assert sc["seed"] == 4 and len(sc["actors"]) >= 10
    assert {"corridor_shuttle", "sts_visible", "spoofer", "shared_mmsi"} <= set(sc["roles"])
