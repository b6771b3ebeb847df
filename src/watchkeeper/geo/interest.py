"""Ports of interest files (TOML): parsing and validation, with errors that say what, where and how to fix.

A file holds rules; :meth:`watchkeeper.geo.gazetteer.Gazetteer.with_ports_of_interest` resolves them against the
gazetteer. The format (the default file, ``watchkeeper/data/ports_of_interest.toml``, is the example)::

    base = "default"            # user files: "default" = apply on top of the defaults, "none" = start empty

    [tiers]                     # optional: what each tier means (labels for reports)
    1 = "DPRK ports"

    [[countries]]               # every port and anchorage of a country
    country_iso2 = "KP"
    tier = 1
    reason = "..."              # one line: why a call there matters
    source = "..."              # where the reason comes from (optional in user files)

    [[ports]]                   # one place, chosen by exactly one of: port_id | locode | name | name + lat + lon
    port_id = "wpi:60510"
    name = "Najin"              # with port_id or locode: checked against the gazetteer's names
    tier = 1
    reason = "..."

``name`` alone selects every entry of the gazetteer with that name or alternative name (optionally narrowed by
``country_iso2`` and ``kind``), so ``name = "Vladivostok"`` covers the port and its anchorages. ``name`` with
``lat`` and ``lon`` adds a place the gazetteer lacks. ``tier = 0`` takes a place (or country) off the list.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from pathlib import Path

from watchkeeper.errors import ConfigError

MAX_TIER = 9
BASES = ("default", "none")
KINDS = ("port", "anchorage")
_TOP_KEYS = {"base", "tiers", "countries", "ports"}
_COUNTRY_KEYS = {"country_iso2", "kind", "tier", "reason", "source"}
_PORT_KEYS = {"port_id", "locode", "name", "country_iso2", "kind", "lat", "lon", "tier", "reason", "source", "prior"}


@dataclass(frozen=True)
class Rule:
    """One ``[[countries]]`` or ``[[ports]]`` entry, validated but not yet resolved against a gazetteer."""

    where: str  # "file.toml: ports[3]", for error messages
    tier: int
    reason: str
    source: str
    country_iso2: str | None = None
    kind: str | None = None
    port_id: str | None = None
    locode: str | None = None
    name: str | None = None
    lat: float | None = None
    lon: float | None = None
    prior: float = 1.0  # relative likelihood of a dark call here among nearby candidates ([[ports]] only)


@dataclass(frozen=True)
class InterestFile:
    """A parsed ports-of-interest file."""

    path: str
    base: str
    tier_labels: dict[int, str]
    countries: tuple[Rule, ...]
    ports: tuple[Rule, ...]


def read_interest_file(path: str | Path, *, require_source: bool = False) -> InterestFile:
    """Read and validate a ports-of-interest TOML file.

    Parameters
    ----------
    path : str or Path
        The file.
    require_source : bool
        Whether every rule with ``tier > 0`` must cite a ``source`` (true for the default file).

    Raises
    ------
    ConfigError
        The file is missing, is not TOML, or a value is invalid; the message names the entry and the fix.
    """
    path = Path(path)
    try:
        with open(path, "rb") as f:
            doc = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError("ports-of-interest file not found", where=str(path),
                          fix="give the path of an existing .toml file") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"not valid TOML: {e}", where=str(path),
                          fix="correct the syntax at the line and column shown") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read the file: {e}", where=str(path),
                          fix="check the path and its encoding (UTF-8)") from None
    where = str(path)
    _check_keys(doc, _TOP_KEYS, where, "top level")
    base = doc.get("base", "default")
    if base not in BASES:
        raise ConfigError(f"base = {base!r} is not one of {', '.join(map(repr, BASES))}", where=where,
                          fix='write base = "default" to add to the defaults, or base = "none" to replace them')
    labels = {}
    tiers = doc.get("tiers", {})
    if not isinstance(tiers, dict):
        raise ConfigError("[tiers] must be a table of tier number = label", where=where,
                          fix='e.g. [tiers] 1 = "DPRK ports"')
    for key, label in tiers.items():
        if not (str(key).isdigit() and 1 <= int(key) <= MAX_TIER) or not isinstance(label, str):
            raise ConfigError(f"tiers.{key} = {label!r}: a tier is a number 1-{MAX_TIER} with a text label",
                              where=where, fix='e.g. 2 = "Russian military ports"')
        labels[int(key)] = label
    countries = tuple(_rule(e, f"{where}: countries[{i}]", _COUNTRY_KEYS, require_source, country=True)
                      for i, e in enumerate(_entries(doc, "countries", where)))
    ports = tuple(_rule(e, f"{where}: ports[{i}]", _PORT_KEYS, require_source, country=False)
                  for i, e in enumerate(_entries(doc, "ports", where)))
    return InterestFile(where, base, labels, countries, ports)


def _entries(doc: dict, key: str, where: str) -> list[dict]:
    entries = doc.get(key, [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ConfigError(f"{key} must be an array of tables", where=where, fix=f"write each entry under [[{key}]]")
    return entries


def _check_keys(entry: dict, allowed: set[str], where: str, what: str) -> None:
    unknown = sorted(set(entry) - allowed)
    if unknown:
        raise ConfigError(f"unknown key(s) {', '.join(unknown)} in {what}", where=where,
                          fix=f"use only: {', '.join(sorted(allowed))}")


def _text(entry: dict, key: str, where: str) -> str | None:
    value = entry.get(key)
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise ConfigError(f"{key} = {value!r} must be a non-empty string", where=where, fix=f"quote the {key}")
    return value.strip() if value is not None else None


def _rule(entry: dict, where: str, allowed: set[str], require_source: bool, *, country: bool) -> Rule:
    _check_keys(entry, allowed, where, "this entry")
    tier = entry.get("tier")
    if isinstance(tier, bool) or not isinstance(tier, int) or not 0 <= tier <= MAX_TIER:
        raise ConfigError(f"tier = {tier!r} must be a whole number from 0 to {MAX_TIER}", where=where,
                          fix="write e.g. tier = 1 (1 = highest interest; 0 takes the place off the list)")
    reason = _text(entry, "reason", where)
    source = _text(entry, "source", where)
    if tier > 0 and reason is None:
        raise ConfigError("a port of interest needs a reason", where=where,
                          fix='add reason = "<one line: why a call there matters>"')
    if tier > 0 and require_source and source is None:
        raise ConfigError("a default port of interest needs a source", where=where,
                          fix='add source = "<where the reason comes from>"')
    cc = _text(entry, "country_iso2", where)
    if cc is not None and not (len(cc) == 2 and cc.isalpha() and cc.isupper()):
        raise ConfigError(f"country_iso2 = {cc!r} is not an ISO 3166-1 alpha-2 code", where=where,
                          fix='write two capital letters, e.g. country_iso2 = "KP"')
    kind = _text(entry, "kind", where)
    if kind is not None and kind not in KINDS:
        raise ConfigError(f"kind = {kind!r} is not one of {', '.join(map(repr, KINDS))}", where=where,
                          fix='write kind = "port" or kind = "anchorage", or leave it out for both')
    if country:
        if cc is None:
            raise ConfigError("a [[countries]] entry needs country_iso2", where=where, fix='add country_iso2 = "KP"')
        return Rule(where, tier, reason or "", source or "", country_iso2=cc, kind=kind)
    port_id, locode, name = (_text(entry, k, where) for k in ("port_id", "locode", "name"))
    lat, lon = entry.get("lat"), entry.get("lon")
    has_position = lat is not None or lon is not None
    choosers = [k for k, v in (("port_id", port_id), ("locode", locode)) if v is not None]
    if len(choosers) > 1 or (choosers and has_position) or (name is None and not choosers):
        raise ConfigError("a [[ports]] entry chooses its place by exactly one of: port_id, locode, name, or "
                          "name with lat and lon", where=where,
                          fix='e.g. port_id = "wpi:60510", or name = "Najin" with country_iso2 = "KP"')
    if has_position:
        for key, value, limit in (("lat", lat, 90.0), ("lon", lon, 180.0)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                    or abs(value) > limit:
                raise ConfigError(f"{key} = {value!r} must be a number of degrees within ±{limit:g}", where=where,
                                  fix="give both lat and lon in decimal degrees (WGS84), e.g. lat = 42.874")
        if cc is None:
            raise ConfigError("a new place (name with lat and lon) needs country_iso2", where=where,
                              fix='add country_iso2 = "RU"')
    prior = entry.get("prior", 1.0)
    if isinstance(prior, bool) or not isinstance(prior, (int, float)) or not (math.isfinite(prior) and prior > 0):
        raise ConfigError(f"prior = {prior!r} must be a number > 0", where=where,
                          fix="write e.g. prior = 2.0 (twice as likely as a port without a prior; default 1)")
    return Rule(where, tier, reason or "", source or "", country_iso2=cc, kind=kind, port_id=port_id,
                locode=locode, name=name, lat=None if lat is None else float(lat),
                lon=None if lon is None else float(lon), prior=float(prior))
