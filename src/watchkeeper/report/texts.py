"""Fixed prose of the dossier: what each rule does, methodology and limitations (data, not code)."""

from __future__ import annotations

TITLES = {
    "port_visit": "Port visit", "ais_gap": "AIS gap", "dark_port_call": "Possible dark port call",
    "encounter": "Encounter", "loitering": "Loitering", "position_jump": "Position jump",
    "mmsi_conflict": "MMSI conflict", "identity_change": "Identity change", "invalid_identity": "Invalid identity",
    "activity_surge": "Activity surge",
}

# One or two sentences per rule, condensed from docs/detections.md.
RULES = {
    "port_visit": "The vessel came within entry_radius_km of one of the port's anchorage points and left only when "
                  "farther than exit_radius_km from all of them; visits shorter than min_duration_h or below "
                  "min_confidence_level (GFW levels 1-4: entry, exit, stop, gap) are not reported.",
    "ais_gap": "No position of this segment was received for at least min_gap_h. Whether the silence looks "
               "intentional depends on the reception estimated from all vessels' positions in the area: "
               "likely_intentional is high when receiving nothing for that long is improbable "
               "(max_silence_probability).",
    "dark_port_call": "During an AIS gap, a port of interest could have been reached (within max_transit_h at the "
                      "vessel's own speed_quantile speed times speed_margin) and left again with at least "
                      "min_dwell_h in port. This is an inference from the gap's geometry, not an observation.",
    "encounter": "Two vessels stayed within max_distance_m of each other for at least min_duration_h at a median "
                 "speed below max_median_speed_kn, at least min_port_distance_km from any port or anchorage "
                 "(Global Fishing Watch's definition).",
    "loitering": "The vessel's implied speed, averaged over block_h, stayed below max_speed_kn for at least "
                 "min_duration_h, at least min_port_distance_km from ports and anchorages: a possible transfer "
                 "with a partner that is not transmitting.",
    "position_jump": "Positions implying an impossible speed for the transmitter's class, positions deep on land, or "
                     "runs of reports without a position: signs of spoofing or equipment faults.",
    "mmsi_conflict": "Two incompatible tracks transmitted the same MMSI during at least min_overlap_h of common "
                     "time: two transmitters share the identity.",
    "identity_change": "A new ship name, call sign, IMO number or ship type was broadcast at least min_observations "
                       "times (differences of typo_max_edits characters ignored), or an IMO number appeared under a "
                       "new MMSI.",
    "invalid_identity": "The MMSI is not a valid ship MMSI (form, unallocated MID, placeholder) or the IMO number "
                        "fails its check digit.",
    "activity_surge": "Visits to a port in a window of window_days were significantly more than its baseline rate "
                      "(one-sided Poisson test).",
}

# The config section whose thresholds govern each event type (segmentation applies to all per-segment events).
SECTIONS = {t: (t,) for t in RULES}
SECTIONS["dark_port_call"] = ("dark_port_call", "ais_gap")
SECTIONS["ais_gap"] = ("ais_gap", "reception")

METHODOLOGY = [
    "Positions, identities and times are the ones the vessel's AIS transponder broadcast, as received by the "
    "feeds listed under Provenance. Every event cites the input files and line numbers it rests on, and every "
    "input file is identified by its SHA-256, so each statement can be checked against the raw data.",
    "Events are produced by fixed, documented rules (docs/detections.md) with the thresholds listed in the "
    "configuration section; the configuration's SHA-256 is recorded with every event. The same store and "
    "configuration always give the same events and the same dossier.",
    "The risk score, where present, is a weighted sum of indicators; each contribution names the events or list "
    "matches it comes from. It ranks vessels for review; it is not a finding of wrongdoing.",
]

LIMITATIONS = [
    "AIS shows only what a transponder transmits and what a receiver hears. A vessel can switch its transponder "
    "off, reduce its power, or broadcast false positions and identities; AIS alone cannot tell these apart from "
    "equipment faults.",
    "Reception gaps are estimated from the data itself (how often all vessels in an area were heard). Where little "
    "traffic was recorded, reception is unknown and a silence is not scored as intentional; coverage that the data "
    "does not reflect (a receiver outage, satellite revisit times) can still make a silence look suspicious.",
    "Dark port calls are inferences: the port was reachable during the silence at the vessel's own speeds, not "
    "observed. Other explanations (drifting, lying at anchor out of coverage, another port) remain possible.",
    "Identity (name, call sign, IMO number, ship type, flag from the MMSI's MID) is self-reported in AIS messages "
    "and is not verified here against registries. A flag derived from the MID is the administration that "
    "allocated the MID, not necessarily the current registry.",
    "Sanctions matches compare broadcast identifiers and names with the loaded lists; a name match alone is weak "
    "evidence, and lists change over time (see the list files and dates in the screening table).",
    "The map uses Natural Earth land polygons (generalised; harbours and rivers can appear as land) and the "
    "vendored port gazetteer; positions are drawn as received, not corrected.",
]
