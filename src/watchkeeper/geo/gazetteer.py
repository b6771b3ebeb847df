"""The port and anchorage gazetteer: where ports are, what they are called, and which ones matter.

The table is vendored in ``watchkeeper/data/ports.csv.gz`` (built by ``tools/build_gazetteer.py`` from the
World Port Index, UN/LOCODE, Global Fishing Watch anchorage names and a few manual entries; see
``docs/ports.md``). Detectors query it with whole arrays of positions::

    gaz = load_gazetteer()
    index, distance_km = gaz.nearest(lat, lon)          # nearest port or anchorage of every position
    in_port = gaz.within(lat, lon, radius_km=3.0) >= 0   # positions within 3 km of one
    poi = gaz.subset(gaz.tier > 0)                       # only the ports of interest, as a gazetteer

Rows are addressed by their position in the table (``index``); ``port_id`` is the stable key across rebuilds.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from watchkeeper.errors import ConfigError
from watchkeeper.geo.grid_index import GridSphereIndex
from watchkeeper.geo.interest import InterestFile, Rule, read_interest_file
from watchkeeper.geo.names import normalize_locode, normalize_name

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
PORTS_PATH = DATA_DIR / "ports.csv.gz"
DEFAULT_INTEREST_PATH = DATA_DIR / "ports_of_interest.toml"

SCHEMA = pa.schema([
    pa.field("port_id", pa.string(), nullable=False),  # stable key: wpi:<number>, unlocode:<LOCODE>, gfw:<s2 cell>, ...
    pa.field("name", pa.string(), nullable=False),
    pa.field("alt_names", pa.string()),  # other names, "|"-separated
    pa.field("country_iso2", pa.string()),
    pa.field("locode", pa.string()),  # UN/LOCODE without the space, e.g. KPRJN
    pa.field("lat", pa.float64(), nullable=False),  # degrees, WGS84
    pa.field("lon", pa.float64(), nullable=False),  # degrees, WGS84, in [-180, 180)
    pa.field("kind", pa.string(), nullable=False),  # port | anchorage
    pa.field("source", pa.string(), nullable=False),  # wpi | unlocode | gfw | manual | user
    pa.field("source_ref", pa.string()),  # WPI number, LOCODE, GFW country:label:cell:count, or a citation
    pa.field("extent_km", pa.float64()),  # anchorages: farthest GFW cell from the point; 0 for ports
    pa.field("detail", pa.string()),  # anchorages: GFW sublabel (terminal, berth or anchorage area)
])
_SOURCE_RANK = {"manual": 0, "user": 1, "wpi": 2, "unlocode": 3, "gfw": 4}


class Gazetteer:
    """Ports and anchorages with vectorised spatial queries, name and LOCODE lookup, and ports of interest.

    Parameters
    ----------
    table : pyarrow.Table
        Rows of places; needs ``port_id``, ``name``, ``lat`` and ``lon``; the other columns of :data:`SCHEMA`
        are filled with nulls (``kind`` with ``"port"``, ``source`` with ``"user"``) when absent.
    tier : array_like of int, optional
        Interest tier per row (0 = not a port of interest, 1 = highest).
    reason, interest_source : sequence of str, optional
        Why each row is of interest, and the source of that reason ("" where ``tier == 0``).
    tier_labels : dict, optional
        What each tier means.

    Notes
    -----
    Objects are immutable; :meth:`subset` and :meth:`with_ports_of_interest` return new ones. The spatial
    index and the name index are built on first use.
    """

    def __init__(self, table: pa.Table, tier=None, reason=None, interest_source=None, tier_labels=None, prior=None):
        self.table = _conform(table)
        n = self.table.num_rows
        self.lat = np.array(self.table["lat"].to_numpy(zero_copy_only=False), dtype=np.float64)  # degrees
        self.lon = np.array(self.table["lon"].to_numpy(zero_copy_only=False), dtype=np.float64)  # degrees
        self.tier = np.zeros(n, np.int8) if tier is None else np.asarray(tier, dtype=np.int8).copy()
        self.reason = np.array([""] * n if reason is None else list(reason), dtype=object)
        self.interest_source = np.array([""] * n if interest_source is None else list(interest_source), dtype=object)
        self.tier_labels = dict(tier_labels or {})
        # relative likelihood of a dark call at the place among nearby candidates (ports-of-interest ``prior``)
        self.prior = np.ones(n, np.float64) if prior is None else np.asarray(prior, dtype=np.float64).copy()
        for a in (self.tier, self.reason, self.interest_source, self.prior):
            if a.shape != (n,):
                raise ValueError(f"interest arrays must have one value per row ({n})")
        for a in (self.lat, self.lon, self.tier, self.reason, self.interest_source, self.prior):
            a.flags.writeable = False  # shared with the indexes and with subsets

    def __len__(self) -> int:
        return self.table.num_rows

    def __repr__(self) -> str:
        kinds = self.table["kind"].value_counts().to_pylist()
        parts = ", ".join(f"{k['counts']:,} {k['values']}s" for k in kinds)
        return f"<Gazetteer {parts}; {int(np.count_nonzero(self.tier)):,} of interest>"

    # ------------------------------------------------------------------------------------------- spatial
    @functools.cached_property
    def _index(self) -> GridSphereIndex:
        # a k-d tree, with a grid of candidate lists for bounded searches of many positions (the same answers)
        return GridSphereIndex(self.lat, self.lon)

    def nearest(self, lat_deg, lon_deg, max_distance_km: float = math.inf) -> tuple[np.ndarray, np.ndarray]:
        """The nearest place of each position, and the great-circle distance to it.

        Parameters
        ----------
        lat_deg, lon_deg : array_like
            Positions in degrees (any shape). NaN or ``abs(lat_deg) > 90`` (AIS "not available") give no answer.
        max_distance_km : float
            Ignore places farther than this (inclusive bound); also makes the search cheaper.

        Returns
        -------
        index : numpy.ndarray of int64
            Row of the nearest place, ``-1`` where there is none.
        distance_km : numpy.ndarray of float64
            Distance to it, NaN where ``index == -1``.
        """
        return self._index.nearest(lat_deg, lon_deg, max_distance_km)

    def within(self, lat_deg, lon_deg, radius_km: float) -> np.ndarray:
        """Row of the nearest place at most ``radius_km`` away from each position, else ``-1``."""
        if not radius_km >= 0:
            raise ValueError(f"radius_km must be >= 0, not {radius_km!r}")
        return self._index.nearest(lat_deg, lon_deg, radius_km)[0]

    def subset(self, rows) -> Gazetteer:
        """A gazetteer of some rows only (boolean mask or row indices), e.g. ``gaz.subset(gaz.tier == 1)``."""
        rows = np.asarray(rows)
        idx = np.flatnonzero(rows) if rows.dtype == bool else rows.astype(np.int64)
        return Gazetteer(self.table.take(pa.array(idx, pa.int64())), self.tier[idx], self.reason[idx],
                         self.interest_source[idx], self.tier_labels, self.prior[idx])

    # --------------------------------------------------------------------------------------------- names
    @functools.cached_property
    def _names(self) -> dict[str, np.ndarray]:
        return self._name_index(np.arange(len(self.table)))

    def _name_index(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        """Normalised name (or alternative name) -> those of ``rows`` that have it, best source first."""
        keys: dict[str, list[int]] = {}
        names = self.table["name"].take(pa.array(rows, pa.int64())).to_pylist()
        alts = self.table["alt_names"].take(pa.array(rows, pa.int64())).to_pylist()
        for i, name, alt in zip(rows.tolist(), names, alts):
            for n in self._row_keys(name, alt):
                keys.setdefault(n, []).append(i)
        rank = self._rank
        return {k: np.array(sorted(v, key=lambda i: (rank[i], i)), dtype=np.int64) for k, v in keys.items()}

    @staticmethod
    def _row_keys(name, alt) -> set[str]:
        return {n for n in (normalize_name(x) for x in [name, *(alt.split("|") if alt else [])]) if n}

    def _country_names(self, country_iso2: str) -> dict[str, np.ndarray]:
        cache = self.__dict__.setdefault("_by_country", {})
        if country_iso2 not in cache:
            cache[country_iso2] = self._name_index(np.flatnonzero(self._countries == country_iso2))
        return cache[country_iso2]

    def _has_name(self, row: int, name: str) -> bool:
        """Whether ``find(name)`` lists ``row`` (one row's names normalised, not every row's)."""
        key = normalize_name(name)
        return bool(key) and key in self._row_keys(self.table["name"][row].as_py(),
                                                      self.table["alt_names"][row].as_py())

    @functools.cached_property
    def _rank(self) -> np.ndarray:
        return np.array([_SOURCE_RANK.get(s, 9) for s in self.table["source"].to_pylist()], dtype=np.int8)

    @functools.cached_property
    def _locodes(self) -> dict[str, int]:
        out: dict[str, int] = {}
        rank = self._rank
        for i, code in enumerate(self.table["locode"].to_pylist()):
            if code and (code not in out or rank[i] < rank[out[code]]):
                out[code] = i
        return out

    @functools.cached_property
    def _countries(self) -> np.ndarray:
        return np.asarray(self.table["country_iso2"].to_pylist(), dtype=object)

    @functools.cached_property
    def _kinds(self) -> np.ndarray:
        return np.asarray(self.table["kind"].to_pylist(), dtype=object)

    @functools.cached_property
    def _ids(self) -> dict[str, int]:
        return {pid: i for i, pid in enumerate(self.table["port_id"].to_pylist())}

    def find(self, name: str, country_iso2: str | None = None, kind: str | None = None) -> np.ndarray:
        """Rows whose name or an alternative name is ``name``, ignoring case, accents and punctuation.

        Parameters
        ----------
        name : str
            E.g. ``"rajin"``, ``"Najin"``, ``"CH'ONGJIN"``.
        country_iso2, kind : str, optional
            Keep only rows of this country (ISO 3166-1 alpha-2) or kind (``"port"`` or ``"anchorage"``).

        Returns
        -------
        numpy.ndarray of int64
            Rows, best source first (manual, user, WPI, UN/LOCODE, GFW); empty if none.
        """
        key = normalize_name(name)
        if country_iso2 is not None and "_names" not in self.__dict__:
            # one country's names, without building the index of every name (most of loading's time)
            rows = self._country_names(country_iso2.upper()).get(key, np.empty(0, np.int64))
        else:
            rows = self._names.get(key, np.empty(0, np.int64))
        if country_iso2 is not None:
            rows = rows[self._countries[rows] == country_iso2.upper()]
        if kind is not None:
            rows = rows[self._kinds[rows] == kind]
        return rows.copy()

    def by_locode(self, locode: str) -> int:
        """Row of the place with this UN/LOCODE (``"KPRJN"`` or ``"KP RJN"``), ``-1`` if none."""
        return self._locodes.get(normalize_locode(locode), -1)

    def index_of(self, port_id: str) -> int:
        """Row of the place with this ``port_id``, ``-1`` if none."""
        return self._ids.get(port_id, -1)

    def row(self, index: int) -> dict:
        """One row as a dict (with its interest tier and reason), for reports and debugging."""
        out = {k: v[0] for k, v in self.table.slice(int(index), 1).to_pydict().items()}
        out.update(tier=int(self.tier[index]), reason=self.reason[index], interest_source=self.interest_source[index])
        return out

    # -------------------------------------------------------------------------------- ports of interest
    def ports_of_interest(self, tiers=None) -> pa.Table:
        """The places of interest, as a table.

        Parameters
        ----------
        tiers : int or iterable of int, optional
            Keep only these tiers (default: every tier > 0).

        Returns
        -------
        pyarrow.Table
            ``index`` (row in this gazetteer), ``port_id``, ``name``, ``country_iso2``, ``kind``, ``lat``,
            ``lon``, ``tier``, ``reason``, ``interest_source``; ordered by tier, then row.
        """
        if tiers is None:
            keep = self.tier > 0
        else:
            wanted = [tiers] if isinstance(tiers, int) else list(tiers)
            keep = np.isin(self.tier, wanted) & (self.tier > 0)
        idx = np.flatnonzero(keep)
        idx = idx[np.lexsort((idx, self.tier[idx]))]
        base = self.table.take(pa.array(idx, pa.int64())).select(
            ["port_id", "name", "country_iso2", "kind", "lat", "lon"])
        return (base.add_column(0, "index", pa.array(idx, pa.int64()))
                .append_column("tier", pa.array(self.tier[idx], pa.int8()))
                .append_column("reason", pa.array(self.reason[idx].tolist(), pa.string()))
                .append_column("interest_source", pa.array(self.interest_source[idx].tolist(), pa.string())))

    def with_ports_of_interest(self, path: str | Path | None = None) -> Gazetteer:
        """A gazetteer whose ports of interest come from a TOML file.

        Parameters
        ----------
        path : str or Path, optional
            A user file (see :mod:`watchkeeper.geo.interest`). With ``base = "default"`` (the default) its
            rules apply on top of Watchkeeper's default list, later rules winning; with ``base = "none"`` they
            replace it. Without a path: the default list alone.

        Raises
        ------
        ConfigError
            The file is invalid, or a rule names a place the gazetteer does not have.
        """
        files = [read_interest_file(DEFAULT_INTEREST_PATH, require_source=True)]
        if path is not None:
            user = read_interest_file(path)
            files = ([] if user.base == "none" else files) + [user]
        return self._apply(files)

    def _apply(self, files: list[InterestFile]) -> Gazetteer:
        new_rows = [r for f in files for r in f.ports if r.lat is not None]
        gaz = self._with_places(new_rows) if new_rows else self
        n = len(gaz)
        tier = np.zeros(n, np.int8)
        reason = np.array([""] * n, dtype=object)
        source = np.array([""] * n, dtype=object)
        prior = np.ones(n, np.float64)
        labels: dict[int, str] = {}
        countries, kinds = gaz._countries, gaz._kinds
        for f in files:
            labels.update(f.tier_labels)
            for rule in f.countries:
                rows = np.flatnonzero((countries == rule.country_iso2) & ((kinds == rule.kind) | (rule.kind is None)))
                tier[rows], reason[rows], source[rows] = _interest(rule)
            for rule in f.ports:
                rows = gaz._resolve(rule)
                tier[rows], reason[rows], source[rows] = _interest(rule)
                prior[rows] = rule.prior
        out = Gazetteer(gaz.table, tier, reason, source, labels, prior)
        # same rows: share the indexes already built rather than build them again
        for key in ("_index", "_names", "_by_country", "_rank", "_locodes", "_countries", "_kinds", "_ids"):
            if key in gaz.__dict__:
                out.__dict__[key] = gaz.__dict__[key]
        return out

    def _resolve(self, rule: Rule) -> np.ndarray:
        """Rows a [[ports]] rule selects; ConfigError if none."""
        if rule.lat is not None:
            rows = np.array([self.index_of(_user_id(rule))], dtype=np.int64)
        elif rule.port_id is not None or rule.locode is not None:
            i = self.index_of(rule.port_id) if rule.port_id is not None else self.by_locode(rule.locode)
            key = f"port_id = {rule.port_id!r}" if rule.port_id is not None else f"locode = {rule.locode!r}"
            if i < 0:
                raise ConfigError(f"{key} is not in the gazetteer", where=rule.where,
                                  fix="look the place up with Gazetteer.find(name), or give name, lat and lon")
            if rule.name is not None and not self._has_name(i, rule.name):
                names = self.table["name"][i].as_py()
                raise ConfigError(f"{key} is {names!r}, not {rule.name!r}", where=rule.where,
                                  fix="correct the name or the identifier (names are checked against each other)")
            rows = np.array([i], dtype=np.int64)
        else:
            rows = self.find(rule.name, rule.country_iso2, rule.kind)
            if rows.size == 0:
                where = f" in {rule.country_iso2}" if rule.country_iso2 else ""
                raise ConfigError(f"no place named {rule.name!r}{where} in the gazetteer", where=rule.where,
                                  fix="check the spelling, or add the place with lat and lon (and country_iso2)")
        return rows

    def _with_places(self, rules: list[Rule]) -> Gazetteer:
        """This gazetteer plus the places that rules add with lat/lon (source ``user``)."""
        seen = set(self._ids)
        rows = []
        for r in rules:
            pid = _user_id(r)
            if pid in seen:
                continue
            seen.add(pid)
            rows.append({"port_id": pid, "name": r.name, "country_iso2": r.country_iso2, "lat": r.lat,
                         "lon": ((r.lon + 180.0) % 360.0) - 180.0, "kind": r.kind or "port", "source": "user",
                         "source_ref": r.source or r.where, "extent_km": 0.0})
        extra = _conform(pa.Table.from_pylist(rows))
        return Gazetteer(pa.concat_tables([self.table, extra]), np.r_[self.tier, np.zeros(len(rows), np.int8)],
                         [*self.reason, *[""] * len(rows)], [*self.interest_source, *[""] * len(rows)],
                         self.tier_labels, np.r_[self.prior, np.ones(len(rows))])


def _interest(rule: Rule) -> tuple[int, str, str]:
    return (rule.tier, rule.reason, rule.source) if rule.tier > 0 else (0, "", "")


def _user_id(rule: Rule) -> str:
    return "user:" + "-".join(normalize_name(rule.name).split()) + f"@{rule.lat:.4f},{rule.lon:.4f}"


def _conform(table: pa.Table) -> pa.Table:
    """The table with exactly the columns of SCHEMA, in order; missing optional columns filled."""
    missing = [c for c in ("port_id", "name", "lat", "lon") if c not in table.column_names]
    if missing:
        raise ValueError(f"a gazetteer table needs columns {', '.join(missing)}")
    n = table.num_rows
    defaults = {"kind": "port", "source": "user", "extent_km": 0.0}
    cols = []
    for field in SCHEMA:
        if field.name in table.column_names:
            col = table[field.name].cast(field.type)
        else:
            col = pa.array([defaults.get(field.name)] * n, field.type)
        cols.append(col)
    out = pa.Table.from_arrays(cols, names=SCHEMA.names)
    lat = out["lat"].to_numpy(zero_copy_only=False)
    lon = out["lon"].to_numpy(zero_copy_only=False)
    if not (np.all(np.isfinite(lat)) and np.all(np.isfinite(lon)) and np.all(np.abs(lat) <= 90)):
        raise ValueError("every place needs a finite lat (within ±90) and lon")
    return out


def read_ports(path: str | Path = PORTS_PATH) -> pa.Table:
    """Read a gazetteer table written by ``tools/build_gazetteer.py`` (CSV, optionally gzipped)."""
    types = {f.name: f.type for f in SCHEMA}
    try:
        return pacsv.read_csv(
            path,
            convert_options=pacsv.ConvertOptions(column_types=types, strings_can_be_null=True, null_values=[""],
                                                 include_columns=SCHEMA.names),
        )
    except (OSError, pa.ArrowInvalid) as e:
        raise ConfigError(f"cannot read the gazetteer: {e}", where=str(path),
                          fix="rebuild it with tools/build_gazetteer.py, or reinstall watchkeeper") from None


@functools.lru_cache(maxsize=4)
def _load_default(ports_path: str) -> Gazetteer:
    return Gazetteer(read_ports(ports_path)).with_ports_of_interest(None)


def load_gazetteer(ports_of_interest: str | Path | None = None, *, path: str | Path = PORTS_PATH) -> Gazetteer:
    """The vendored gazetteer with its ports of interest.

    Parameters
    ----------
    ports_of_interest : str or Path, optional
        A user TOML file of ports of interest (see :meth:`Gazetteer.with_ports_of_interest`); default: the
        default list only.
    path : str or Path
        Another gazetteer table (same columns as the vendored one).

    Notes
    -----
    The table with the default list is read once per process and shared (it is immutable); a user file is
    read on every call, so edits to it take effect, and the result shares the default's spatial index unless
    the file adds places.
    """
    base = _load_default(str(Path(path).resolve()))
    return base if ports_of_interest is None else base.with_ports_of_interest(ports_of_interest)
