"""Thresholds as data: defaults, TOML overrides, errors that name file and key, a stable hash, the default file."""

from __future__ import annotations

import tomllib

import pytest

from watchkeeper.config import DETECTORS, Config, load_config, write_default_toml
from watchkeeper.errors import ConfigError


def _write(tmp_path, text: str):
    p = tmp_path / "watchkeeper.toml"
    p.write_text(text)
    return p


def test_defaults_are_the_declared_values():
    cfg = load_config(None)
    for det in DETECTORS.values():
        for t in det.thresholds:
            assert getattr(getattr(cfg, det.name), t.name) == t.default
    assert cfg.encounter.max_distance_m == 500.0
    assert cfg.port_visit.entry_radius_km < cfg.port_visit.exit_radius_km
    assert cfg.overrides() == {}


def test_a_file_overrides_only_what_it_names(tmp_path):
    cfg = load_config(_write(tmp_path, "[encounter]\nmax_distance_m = 300\n\n[ais_gap]\nmin_gap_h = 3.5\n"))
    assert cfg.encounter.max_distance_m == 300.0 and isinstance(cfg.encounter.max_distance_m, float)
    assert cfg.ais_gap.min_gap_h == 3.5
    assert cfg.encounter.min_duration_h == DETECTORS["encounter"]["min_duration_h"].default
    assert cfg.overrides() == {"encounter": {"max_distance_m": 300.0}, "ais_gap": {"min_gap_h": 3.5}}


@pytest.mark.parametrize(("text", "needle"), [
    ("[encuonter]\nmax_distance_m = 3\n", "encounter"),  # unknown section: the valid ones are listed
    ("[encounter]\nmax_dist_m = 3\n", "max_distance_m"),  # unknown key: the valid keys are listed
    ("[encounter]\nmax_distance_m = \"500\"\n", "number"),
    ("[encounter]\nmax_distance_m = true\n", "number"),
    ("[encounter]\nmax_distance_m = -5\n", "> 0"),
    ("[encounter]\nmax_distance_m = nan\n", "finite"),
    ("[port_visit]\nmin_confidence_level = 2.5\n", "integer"),
    ("[port_visit]\nmin_confidence_level = 5\n", "1 to 4"),
    ("[identity_change]\nship_type_by_category = 1\n", "true or false"),
    ("[invalid_identity]\nplaceholder_mmsi = [1, \"x\"]\n", "integer"),
    ("encounter = 3\n", "table"),
    ("[port_visit]\nentry_radius_km = 5.0\n", "exit_radius_km"),  # order of a hysteresis pair
])
def test_bad_values_name_file_key_and_fix(tmp_path, text, needle):
    p = _write(tmp_path, text)
    with pytest.raises(ConfigError) as e:
        load_config(p)
    msg = str(e.value)
    assert str(p) in msg
    assert needle in msg
    assert e.value.fix


def test_unknown_key_error_names_the_key_and_lists_the_valid_ones(tmp_path):
    p = _write(tmp_path, "[loitering]\nmax_speed = 1\n")
    with pytest.raises(ConfigError) as e:
        load_config(p)
    assert e.value.where == f"{p}, key loitering.max_speed"
    for t in DETECTORS["loitering"].thresholds:
        assert t.name in e.value.fix


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(_write(tmp_path, "[encounter\nmax_distance_m = 1\n"))


def test_sha256_depends_only_on_effective_values(tmp_path):
    default = Config().sha256()
    assert len(default) == 64 and default == Config().sha256()
    # the same values written differently hash alike: an int for a float, a key set to its default
    same = load_config(_write(tmp_path, "[encounter]\nmax_distance_m = 500\nmin_duration_h = 2\n"))
    assert same.sha256() == default and same == Config()
    changed = Config({"encounter": {"max_distance_m": 499.0}})
    assert changed.sha256() != default
    assert changed.replace(encounter={"max_distance_m": 500.0}).sha256() == default


def test_to_dict_is_plain_data_and_round_trips():
    d = Config().to_dict()
    assert set(d) == set(DETECTORS)
    assert isinstance(d["invalid_identity"]["placeholder_mmsi"], list)
    assert Config(d) == Config()


def test_values_are_read_only():
    cfg = Config()
    with pytest.raises(AttributeError):
        cfg.encounter.max_distance_m = 1.0
    with pytest.raises(AttributeError, match="valid"):
        cfg.encounter.max_distance_km  # noqa: B018
    with pytest.raises(AttributeError, match="encounter"):
        cfg.encounters  # noqa: B018


def test_default_toml_loads_to_the_defaults_and_documents_every_key(tmp_path):
    p = tmp_path / "default.toml"
    text = write_default_toml(p)
    assert p.read_text() == text
    parsed = tomllib.loads(text)
    assert parsed == Config().to_dict()
    assert load_config(p).sha256() == Config().sha256()
    for det in DETECTORS.values():
        section = text.split(f"\n[{det.name}]", 1)[1].split("\n[", 1)[0]
        for t in det.thresholds:
            block = section.split(f"\n{t.name} = ")[0].rsplit("\n\n", 1)[-1]  # the comment lines above the key
            comments = " ".join(line.lstrip("# ") for line in block.splitlines())
            assert t.rationale in comments and f"unit: {t.unit};" in comments and "source: " in comments, t.name
