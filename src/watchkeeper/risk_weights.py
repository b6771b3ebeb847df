"""The risk score's weights, declared once as data: default, unit, rationale and source of each.

Every indicator of :mod:`watchkeeper.risk` has a ``*_points`` weight (the most points it can give) and, where
its evidence accumulates, a ``*_scale`` (how much evidence gives 63% of those points: ``points = weight x
(1 - exp(-value / scale))``), plus a few factors. A TOML file overrides any of them in a ``[risk]`` table; keys
not named keep their defaults::

    [risk]
    list_match_points = 50.0
    ais_gap_scale = 3.0

:func:`load_risk_weights` reads such a file (other tables of the file, the detection thresholds, are left to
:func:`watchkeeper.config.load_config`). The weight table of ``docs/risk.md`` is :func:`markdown_table`; a test
keeps the two in step (``python -m watchkeeper.risk_weights`` rewrites it).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from watchkeeper.config import Section, Threshold, read_toml
from watchkeeper.errors import ConfigError

_OURS = "Watchkeeper default"
_ADVISORY = ("US Treasury (OFAC), State and Coast Guard Global Maritime Sanctions Advisory, 14 May 2020 "
             "(deceptive shipping practices)")
_POE = "UN Panel of Experts (resolution 1874) reports S/2019/171 and S/2020/151"
_NOTES = "research notes anchors-sanctions.md section 3.5"


def _w(name, default, unit, rationale, source, minimum=0.0, maximum=None, minimum_exclusive=False) -> Threshold:
    return Threshold(name, default, unit, rationale, source, minimum, maximum, minimum_exclusive)


@dataclass(frozen=True)
class Indicator:
    """One risk indicator: its name (as in the ``contributions``), title, and weights."""

    name: str
    title: str
    weights: tuple[Threshold, ...]


INDICATORS: dict[str, Indicator] = {i.name: i for i in [
    Indicator("sanctions_list", "Sanctions list match (screening)", (
        _w("list_match_points", 60.0, "points",
           "Points of a screening match by IMO number or MMSI, times its match score (0.95 for a valid IMO): being "
           "listed is the strongest single indicator, so alone it ranks a vessel above a handful of behaviour "
           "indicators.",
           f"{_NOTES} I11 (vessel listed); {_OURS} for the amount", 0, 100),
        _w("identity_fraud_points", 70.0, "points",
           "Points of a possible_identity_theft or fraudulent_identifier match, times its score (0.90): a ship "
           "broadcasting a listed ship's IMO with another name and MMSI, or an identifier the list calls "
           "fraudulent, is the identity theft of the DPRK cases.",
           f"{_POE} (ship identity theft, false AIS transmissions); {_ADVISORY}, practices 1-2", 0, 100),
        _w("weak_match_factor", 0.25, "factor",
           "Multiplier of list_match_points for matches by call sign or name only: names repeat across fleets and "
           "call signs are reused, so such a match is a lead, not a finding.",
           f"{_NOTES} I11 false-positive cautions (name-only matches); docs/screening.md", 0, 1),
    )),
    Indicator("port_of_interest_visit", "Port calls at ports of interest", (
        _w("port_visit_points", 20.0, "points",
           "Most points for observed calls (port_visit events) at ports of interest; a call at a DPRK port is a "
           "sanctions red flag in itself.",
           "UN Security Council resolutions 2371, 2375, 2397 (2017); tiers of ports_of_interest.toml; "
           f"{_NOTES} I12", 0, 100),
        _w("port_visit_scale", 1.0, "visits",
           "Tier-weighted visits (confidence x tier factor, summed) that give 63% of port_visit_points; one "
           "certain tier-1 call gives 63%, three give 95%.",
           _OURS, 0, minimum_exclusive=True),
        _w("port_tier2_factor", 0.5, "factor",
           "Weight of a tier-2 port (Russian military ports named as destinations of DPRK munitions) relative to "
           "tier 1.", f"{_OURS}; tier definitions in ports_of_interest.toml", 0, 1),
        _w("port_tier3_factor", 0.2, "factor",
           "Weight of a tier-3 port (commercial ports of the DPRK-Russia corridor, context only) relative to tier "
           "1.", f"{_OURS}; tier definitions in ports_of_interest.toml", 0, 1),
    )),
    Indicator("dark_port_call", "Dark port calls at ports of interest", (
        _w("dark_port_call_points", 30.0, "points",
           "Most points for AIS silences long enough to call at a port of interest (dark_port_call events, "
           "weighted by their confidence, which already falls with the port's tier): going dark to visit a DPRK "
           "port is the central evasion pattern of the UN reports.",
           f"{_POE} (AIS switched off for calls at Nampo); {_ADVISORY}, practice 1; {_NOTES} I2", 0, 100),
        _w("dark_port_call_scale", 1.0, "confidence",
           "Summed confidence of dark port calls that gives 63% of dark_port_call_points.",
           _OURS, 0, minimum_exclusive=True),
    )),
    Indicator("ais_gap", "Likely-intentional AIS gaps", (
        _w("ais_gap_points", 15.0, "points",
           "Most points for AIS gaps scored as likely intentional (silences that reception where they happened "
           "does not explain).",
           f"{_ADVISORY}, practice 1 (disabling or manipulating AIS); Welch et al. 2022, Sci. Adv. 8:eabq2109",
           0, 100),
        _w("ais_gap_scale", 2.0, "likely_intentional",
           "Summed likely_intentional score of gaps that gives 63% of ais_gap_points, so fifty gaps cannot swamp a "
           "list match.", _OURS, 0, minimum_exclusive=True),
        _w("ais_gap_min_likely", 0.5, "probability",
           "Gaps whose likely_intentional score is below this are explained by reception and do not count.",
           f"{_OURS}; detections.md ais_gap.max_silence_probability", 0, 1),
    )),
    Indicator("encounter", "Encounters (possible ship-to-ship transfers)", (
        _w("encounter_points", 10.0, "points",
           "Most points for encounters at sea with any vessel (weighted by confidence): ship-to-ship transfers "
           "hide a cargo's origin, but most encounters are bunkering, pilotage or fishing.",
           f"{_ADVISORY}, practice 4 (STS transfers); GFW encounters (Miller et al. 2018); {_NOTES} I5", 0, 100),
        _w("encounter_scale", 1.5, "confidence",
           "Summed confidence of encounters that gives 63% of encounter_points.",
           _OURS, 0, minimum_exclusive=True),
        _w("encounter_partner_points", 30.0, "points",
           "Most points for encounters with a partner that has risk of its own (its score without its encounter "
           "indicators): a transfer with a listed or high-risk vessel is the sanctions-relevant case. Propagated "
           "one hop only.",
           f"{_NOTES} I11 (encounter with a listed vessel); {_POE} (STS transfers with designated tankers)", 0, 100),
        _w("encounter_partner_scale", 0.5, "partner risk",
           "Summed partner risk (partner score / 100 x encounter confidence, best encounter per partner) that "
           "gives 63% of encounter_partner_points: one encounter with a listed vessel (about 0.57) gives about 2/3.",
           _OURS, 0, minimum_exclusive=True),
    )),
    Indicator("loitering", "Loitering at sea", (
        _w("loitering_points", 8.0, "points",
           "Most points for loitering (a proxy for a transfer with a partner that is not transmitting), weighted "
           "by confidence, which the detector already halves near ports.",
           f"GFW loitering (files/loitering.md); {_NOTES} I5 (possible dark partner)", 0, 100),
        _w("loitering_scale", 2.0, "confidence",
           "Summed confidence of loitering that gives 63% of loitering_points.",
           _OURS, 0, minimum_exclusive=True),
    )),
    Indicator("position_jump", "Position jumps (spoofed or manipulated positions)", (
        _w("position_jump_points", 12.0, "points",
           "Most points for impossible positions (weighted by confidence and rule factor).",
           f"{_ADVISORY}, practice 1 (manipulating AIS); {_NOTES} I3", 0, 100),
        _w("position_jump_scale", 2.0, "confidence",
           "Summed rule-weighted confidence of jumps that gives 63% of position_jump_points.",
           _OURS, 0, minimum_exclusive=True),
        _w("jump_speed_factor", 1.0, "factor", "Rule factor of speed jumps (impossible implied speed).", _OURS, 0, 1),
        _w("jump_on_land_factor", 1.0, "factor", "Rule factor of positions on land.", _OURS, 0, 1),
        _w("jump_frozen_factor", 0.8, "factor",
           "Rule factor of frozen (replayed or stuck) positions while reporting speed; a stuck GNSS receiver "
           "does the same.", _OURS, 0, 1),
        _w("jump_null_island_factor", 0.3, "factor",
           "Rule factor of positions at 0 N 0 E, more often an unconfigured or faulty GNSS than deception.",
           f"{_OURS}; {_NOTES} I3 false-positive cautions", 0, 1),
    )),
    Indicator("mmsi_conflict", "Shared MMSI (two transmitters at once)", (
        _w("mmsi_conflict_points", 15.0, "points",
           "Most points for an MMSI used by two incompatible tracks at the same time (cloning).",
           f"{_NOTES} I4(d) (MMSI cloning); {_POE} (identity theft)", 0, 100),
        _w("mmsi_conflict_scale", 1.0, "confidence",
           "Summed confidence of conflicts that gives 63% of mmsi_conflict_points.",
           _OURS, 0, minimum_exclusive=True),
    )),
    Indicator("identity_change", "Identity changes", (
        _w("identity_change_points", 10.0, "points",
           "Most points for changes of name, call sign, IMO number, ship type, or of MMSI under one IMO without a "
           "flag change, weighted by confidence; renaming after a sale is ordinary, repeated edits are not.",
           f"{_ADVISORY}, practice 1 (broadcasting another identity); {_NOTES} I4(g)", 0, 100),
        _w("identity_change_scale", 2.0, "confidence",
           "Summed confidence of identity changes that gives 63% of identity_change_points.",
           _OURS, 0, minimum_exclusive=True),
    )),
    Indicator("flag_hop", "Flag changes (flag hopping)", (
        _w("flag_hop_points", 20.0, "points",
           "Most points for an IMO number moving to an MMSI of another flag (MID), weighted by confidence.",
           f"{_ADVISORY}, practice 6 (false flags and flag hopping); {_NOTES} I7", 0, 100),
        _w("flag_hop_scale", 1.0, "confidence",
           "Summed confidence of flag changes that gives 63% of flag_hop_points.",
           _OURS, 0, minimum_exclusive=True),
    )),
    Indicator("invalid_identity", "Invalid identity", (
        _w("invalid_identity_points", 10.0, "points",
           "Most points for an MMSI of no valid form or unallocated MID, a placeholder MMSI, or an IMO number "
           "failing its check digit, weighted by confidence.",
           f"{_NOTES} I4(a), I4(f); {_ADVISORY}, practice 1", 0, 100),
        _w("invalid_identity_scale", 1.0, "confidence",
           "Summed confidence of invalid-identity events that gives 63% of invalid_identity_points.",
           _OURS, 0, minimum_exclusive=True),
    )),
]}

WEIGHTS: dict[str, Threshold] = {w.name: w for ind in INDICATORS.values() for w in ind.weights}


class RiskWeights(Section):
    """The weights in force: defaults of :data:`INDICATORS` with overrides applied and validated.

    Read as attributes (``w.ais_gap_points``) or items, like a section of :class:`watchkeeper.config.Config`.
    ``overrides`` is ``{name: value}``; ``where`` names their origin in error messages (a file path, ...).

    Raises
    ------
    ConfigError
        For an unknown key, a value of the wrong type or out of range (the message names ``where`` and the key
        and lists the valid keys).
    """

    __slots__ = ()

    def __init__(self, overrides: Mapping[str, Any] | None = None, *, where: str = "risk weights"):
        values = {n: w.default for n, w in WEIGHTS.items()}
        for name, value in (overrides or {}).items():
            key_where = f"{where}, key risk.{name}"
            if name not in WEIGHTS:
                raise ConfigError(f"unknown risk weight {name!r}", where=key_where,
                                  fix=f"use one of: {', '.join(WEIGHTS)}")
            values[name] = WEIGHTS[name].check(value, key_where)
        super().__init__("risk", values)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RiskWeights) and dict(self) == dict(other)

    def __hash__(self) -> int:
        return hash(self.sha256())

    def __repr__(self) -> str:
        return f"RiskWeights(overrides={self.overrides()!r})"

    def overrides(self) -> dict[str, float]:
        """The weights that differ from their defaults."""
        return {k: v for k, v in self._values.items() if v != WEIGHTS[k].default}

    def replace(self, **values: Any) -> RiskWeights:
        """A copy with more overrides, e.g. ``w.replace(ais_gap_points=10.0)``."""
        return RiskWeights({**self.overrides(), **values}, where="RiskWeights.replace")

    def sha256(self) -> str:
        """SHA-256 (hex) of the effective weights (canonical JSON, keys sorted)."""
        text = json.dumps(self._values, sort_keys=True, separators=(",", ":"), allow_nan=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


DEFAULT_WEIGHTS = RiskWeights()


def load_risk_weights(path: str | Path | None = None) -> RiskWeights:
    """The ``[risk]`` table of a TOML file as :class:`RiskWeights`; ``None``, or a file without the table,
    gives the defaults.

    Raises
    ------
    ConfigError
        When the file cannot be read or parsed, ``risk`` is not a table, or a key is unknown, of the wrong type
        or out of range; the message names the file and the key.
    """
    if path is None:
        return RiskWeights()
    table = read_toml(path).get("risk", {})
    if not isinstance(table, Mapping):
        raise ConfigError(f"risk must be a table of weights, not {table!r}", where=f"{path}, key risk",
                          fix=f"write a [risk] table with keys among: {', '.join(WEIGHTS)}")
    return RiskWeights(table, where=str(path))


def markdown_table() -> str:
    """The weight table of ``docs/risk.md`` (one row per weight, grouped by indicator)."""
    lines = ["| indicator | weight | default | unit | valid | rationale | source |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for ind in INDICATORS.values():
        for w in ind.weights:
            lines.append(f"| `{ind.name}` | `{w.name}` | `{w.default!r}` | {w.unit} | {w.valid()} | "
                         f"{w.rationale} | {w.source} |")
    return "\n".join(lines)


_BEGIN, _END = "<!-- BEGIN GENERATED: risk-weights -->", "<!-- END GENERATED: risk-weights -->"


def update_doc(path: str | Path) -> bool:
    """Rewrite the generated weight table of ``path`` (docs/risk.md); return whether it changed."""
    p = Path(path)
    text = p.read_text(encoding="utf-8")
    new = re.sub(re.escape(_BEGIN) + r".*?" + re.escape(_END), lambda _m: f"{_BEGIN}\n{markdown_table()}\n{_END}",
                 text, flags=re.DOTALL)
    if new != text:
        p.write_text(new, encoding="utf-8")
    return new != text


if __name__ == "__main__":  # pragma: no cover - maintenance entry point
    import sys

    doc = Path(__file__).resolve().parents[2] / "docs" / "risk.md"
    print(f"{doc}: {'updated' if update_doc(doc) else 'up to date'}", file=sys.stderr)
