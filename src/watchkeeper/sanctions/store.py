"""Sanctions entities in the store's DuckDB catalogue: list files, FtM entities and a flat identifier index.

Tables (created on first use, so older stores keep working):

``sanctions_files``
    One row per list file loaded: ``file_id``, ``name``, ``sha256``, ``size_bytes``, ``format``,
    ``list_source``, ``loaded_at``, counts (``n_entities``, ``n_vessels``, ``n_sanctions``, ``n_identifiers``,
    ``n_fraudulent``) and ``current`` (false once a newer snapshot of the same list replaced it).
``sanctions_entities``
    ``entity_id``, ``list_source``, ``schema``, ``caption``, ``properties`` (JSON of FtM ``to_dict()``
    properties), ``sha256`` of the file it came from.
``sanctions_identifiers``
    The index screening joins on: ``entity_id``, ``list_source``, ``kind`` (``imo`` | ``mmsi`` | ``callsign`` |
    ``name_norm`` | ``name_token`` | ``imo_company``), ``value``, ``fraudulent``, ``valid`` (IMO check digit).
``sanctions_fraudulent_identifiers``
    Identifiers a list says are used fraudulently, with the list's words: ``entity_id``, ``list_source``,
    ``kind``, ``value``, ``evidence``. They are never on the entity's own ``imoNumber`` / ``mmsi``.

Loading is idempotent: a file whose SHA-256 is the current snapshot of its list is a no-op; any other file of
the same list replaces that list's entities in one transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

import pyarrow as pa

from watchkeeper.errors import InputError
from watchkeeper.sanctions.identifiers import (
    callsign_norm,
    imo_check_ok,
    imo_digits,
    mmsi_digits,
)
from watchkeeper.sanctions.names import name_tokens, normalise_name

FILES = "sanctions_files"
ENTITIES = "sanctions_entities"
IDENTIFIERS = "sanctions_identifiers"
FRAUDULENT = "sanctions_fraudulent_identifiers"

_DDL = [
    f"""CREATE TABLE IF NOT EXISTS {FILES} (file_id INTEGER, name VARCHAR, sha256 VARCHAR, size_bytes BIGINT,
        format VARCHAR, list_source VARCHAR, loaded_at TIMESTAMPTZ, n_entities INTEGER, n_vessels INTEGER,
        n_sanctions INTEGER, n_identifiers INTEGER, n_fraudulent INTEGER, current BOOLEAN)""",
    f"""CREATE TABLE IF NOT EXISTS {ENTITIES} (entity_id VARCHAR, list_source VARCHAR, schema VARCHAR,
        caption VARCHAR, properties VARCHAR, sha256 VARCHAR)""",
    f"""CREATE TABLE IF NOT EXISTS {IDENTIFIERS} (entity_id VARCHAR, list_source VARCHAR, kind VARCHAR,
        value VARCHAR, fraudulent BOOLEAN, valid BOOLEAN)""",
    f"""CREATE TABLE IF NOT EXISTS {FRAUDULENT} (entity_id VARCHAR, list_source VARCHAR, kind VARCHAR,
        value VARCHAR, evidence VARCHAR)""",
]
_NAME_PROPS = ("name", "alias", "previousName", "weakAlias")

# Publishers' download addresses for ``lists load --fetch``.
FETCH_URLS = {
    "un": "https://scsanctions.un.org/resources/xml/en/consolidated.xml",
    "ofac": "https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/SDN.CSV",
    "canada": ("https://www.international.gc.ca/world-monde/assets/office_docs/international_relations-"
               "relations_internationales/sanctions/sema-lmes.xml"),
}


def ensure_tables(store) -> None:
    for ddl in _DDL:
        store.con.execute(ddl)


def has_lists(store) -> bool:
    return store.has_table(ENTITIES) and bool(
        store.con.execute(f"SELECT count(*) FROM {ENTITIES}").fetchall()[0][0])


def identifier_rows(data) -> list[tuple]:
    """The identifier index rows of one loaded list: ``(entity_id, list_source, kind, value, fraudulent, valid)``."""
    rows = set()
    src = data.list_source
    for e in data.entities:
        if e.schema.name == "Vessel":
            for v in e.get("imoNumber"):
                d = imo_digits(v)
                if d:
                    rows.add((e.id, src, "imo", d, False, imo_check_ok(d)))
            for v in e.get("mmsi"):
                d = mmsi_digits(v)
                if d:
                    rows.add((e.id, src, "mmsi", d, False, True))
            for v in e.get("callSign"):
                c = callsign_norm(v)
                if c:
                    rows.add((e.id, src, "callsign", c, False, True))
            for prop in _NAME_PROPS:
                for v in e.get(prop, quiet=True):
                    n = normalise_name(v)
                    if n:
                        rows.add((e.id, src, "name_norm", n, False, True))
                        for t in name_tokens(n):
                            rows.add((e.id, src, "name_token", t, False, True))
        elif e.schema.get("imoNumber") is not None:
            for v in e.get("imoNumber"):
                d = imo_digits(v)
                if d:
                    rows.add((e.id, src, "imo_company", d, False, True))
    for x in data.extra:
        rows.add((x.entity_id, src, x.kind, x.value, x.fraudulent, x.valid))
    return sorted(rows)


def load_files(store, paths, *, names: list[str] | None = None) -> list[dict]:
    """Load sanctions list files into ``store`` (see the module docstring for the tables and the rules).

    Parameters
    ----------
    store : watchkeeper.store.Store
    paths : iterable of str or Path
        List files in any format of :data:`watchkeeper.sanctions.loaders.FORMATS`, gzipped or not.
    names : list of str, optional
        Names to record instead of the paths' file names (used for fetched files).

    Returns
    -------
    list of dict
        Per file: ``name``, ``format``, ``list_source``, ``status`` (``loaded`` | ``replaced`` |
        ``already loaded``) and the counts ``entities``, ``vessels``, ``sanctions``, ``identifiers``,
        ``fraudulent``.
    """
    from watchkeeper.sanctions.loaders import read_list

    ensure_tables(store)
    results = []
    for i, path in enumerate(paths):
        name = names[i] if names else Path(path).name
        sha = hashlib.sha256(Path(path).read_bytes()).hexdigest() if Path(path).is_file() else ""
        same = store.con.execute(f"SELECT format, list_source, n_entities, n_vessels, n_sanctions, n_identifiers, "
                                 f"n_fraudulent FROM {FILES} WHERE sha256 = ? AND current", [sha]).fetchall()
        if same:  # this very file is the current snapshot of its list: nothing to do, not even parsing it
            f, src, *n = same[0]
            results.append({"name": name, "format": f, "list_source": src, "entities": n[0], "vessels": n[1],
                            "sanctions": n[2], "identifiers": n[3], "fraudulent": n[4], "status": "already loaded"})
            continue
        data, _raw = read_list(path)
        cur = store.con.execute(f"SELECT sha256 FROM {FILES} WHERE list_source = ? AND current",
                                [data.list_source]).fetchall()
        vessels = sum(1 for e in data.entities if e.schema.name == "Vessel")
        sanctions = sum(1 for e in data.entities if e.schema.name == "Sanction")
        ids = identifier_rows(data)
        n_fraud = sum(1 for x in data.extra if x.fraudulent)
        res = {"name": name, "format": data.fmt, "list_source": data.list_source, "entities": len(data.entities),
               "vessels": vessels, "sanctions": sanctions, "identifiers": len(ids), "fraudulent": n_fraud}
        _replace_list(store, data, ids, sha, name, Path(path).stat().st_size, res)
        results.append({**res, "status": "replaced" if cur else "loaded"})
    return results


def _replace_list(store, data, ids, sha: str, name: str, size: int, res: dict) -> None:
    src = data.list_source
    seen: set[str] = set()
    ent_rows = {"entity_id": [], "list_source": [], "schema": [], "caption": [], "properties": [], "sha256": []}
    for e in data.entities:
        if e.id in seen:  # a stub named twice; the first one wins
            continue
        seen.add(e.id)
        ent_rows["entity_id"].append(e.id)
        ent_rows["list_source"].append(src)
        ent_rows["schema"].append(e.schema.name)
        ent_rows["caption"].append(e.caption)
        ent_rows["properties"].append(json.dumps(e.to_dict()["properties"], ensure_ascii=False, sort_keys=True))
        ent_rows["sha256"].append(sha)
    ents = pa.table(ent_rows)  # noqa: F841 - read by DuckDB
    idx = pa.table({"entity_id": [r[0] for r in ids], "list_source": [r[1] for r in ids],  # noqa: F841
                    "kind": [r[2] for r in ids], "value": [r[3] for r in ids],
                    "fraudulent": pa.array([r[4] for r in ids], pa.bool_()),
                    "valid": pa.array([r[5] for r in ids], pa.bool_())})
    fraud = pa.table({"entity_id": [x.entity_id for x in data.extra if x.fraudulent],  # noqa: F841
                      "list_source": [src for x in data.extra if x.fraudulent],
                      "kind": [x.kind for x in data.extra if x.fraudulent],
                      "value": [x.value for x in data.extra if x.fraudulent],
                      "evidence": [x.evidence for x in data.extra if x.fraudulent]},
                     schema=pa.schema([(c, pa.string()) for c in
                                       ("entity_id", "list_source", "kind", "value", "evidence")]))
    con = store.con
    con.execute("BEGIN")
    try:
        for t in (ENTITIES, IDENTIFIERS, FRAUDULENT):
            con.execute(f"DELETE FROM {t} WHERE list_source = ?", [src])
        con.execute(f"UPDATE {FILES} SET current = false WHERE list_source = ?", [src])
        con.execute(f"INSERT INTO {ENTITIES} SELECT * FROM ents")
        con.execute(f"INSERT INTO {IDENTIFIERS} SELECT * FROM idx")
        con.execute(f"INSERT INTO {FRAUDULENT} SELECT * FROM fraud")
        nxt = con.execute(f"SELECT coalesce(max(file_id), 0) + 1 FROM {FILES}").fetchall()[0][0]
        con.execute(f"INSERT INTO {FILES} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, true)",
                    [nxt, name, sha, size, data.fmt, src, dt.datetime.now(dt.UTC), res["entities"],
                     res["vessels"], res["sanctions"], res["identifiers"], res["fraudulent"]])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def list_files(store) -> pa.Table:
    """The ``sanctions_files`` table (empty when nothing was loaded), oldest first."""
    ensure_tables(store)
    return store.con.sql(f"SELECT * FROM {FILES} ORDER BY file_id").to_arrow_table()


def get_entities(store, ids) -> dict[str, object]:
    """FtM proxies of the given entity ids, ``{entity_id: proxy}`` (ids not stored are left out)."""
    from followthemoney import model

    ids = sorted(set(ids))
    if not ids or not store.has_table(ENTITIES):
        return {}
    want = pa.table({"entity_id": ids})  # noqa: F841 - read by DuckDB
    rows = store.con.execute(f"SELECT e.entity_id, e.schema, e.properties FROM {ENTITIES} e "
                             f"JOIN want USING (entity_id)").fetchall()
    return {eid: model.get_proxy({"id": eid, "schema": schema, "properties": json.loads(props)}, cleaned=True)
            for eid, schema, props in rows}


def fetch(source: str, dest_dir: str | Path, *, timeout_s: float = 60.0, url: str | None = None) -> Path:
    """Download a publisher's current list (``un``, ``ofac`` or ``canada``) into ``dest_dir``.

    The file is written under a temporary name and renamed only when complete, so a failed download leaves
    nothing behind. Network errors become :class:`InputError` naming the URL.
    """
    if source not in FETCH_URLS:
        raise InputError(f"unknown list {source!r}", where="--fetch", fix=f"use one of {', '.join(FETCH_URLS)}")
    url = url or FETCH_URLS[source]
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{source}-", dir=dest_dir)
    try:
        with os.fdopen(fd, "wb") as fh, urllib.request.urlopen(url, timeout=timeout_s) as resp:
            while chunk := resp.read(1 << 20):
                fh.write(chunk)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        final = dest_dir / f"{source}-{stamp}{'.csv' if source == 'ofac' else '.xml'}"
        os.replace(tmp, final)
        return final
    except (urllib.error.URLError, OSError, TimeoutError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise InputError(f"cannot download the {source} list ({reason})", where=url,
                         fix="check the network connection, or download the file yourself and run "
                             "`watchkeeper lists load FILE --db DIR`") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
