"""``watchkeeper verify``: check a dossier directory against its manifest, and the inputs against their hashes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from watchkeeper.report.manifest import dossier_files, read_manifest, sha256_file


@dataclass
class Verification:
    """The outcome of :func:`verify_dossier`; ``ok`` is false when anything is missing, changed or extra."""

    checked: list[str] = field(default_factory=list)  # dossier files whose hash matched
    missing: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    inputs_ok: list[str] = field(default_factory=list)  # input files re-hashed and matching
    inputs_changed: list[str] = field(default_factory=list)  # re-hashed, or the ledger, differ from the manifest
    inputs_not_found: list[str] = field(default_factory=list)  # not at their ledger path: not re-hashed

    @property
    def ok(self) -> bool:
        return not (self.missing or self.changed or self.extra or self.inputs_changed)

    def lines(self) -> list[str]:
        """The report, one line per finding, problems first."""
        out = [f"MISSING  {p}" for p in self.missing] + [f"CHANGED  {p}" for p in self.changed]
        out += [f"EXTRA    {p} (not in the manifest)" for p in self.extra]
        out += [f"INPUT CHANGED  {p}" for p in self.inputs_changed]
        out += [f"input not found, not re-hashed: {p}" for p in self.inputs_not_found]
        out.append(f"{len(self.checked)} dossier file(s) match the manifest; {len(self.inputs_ok)} input file(s) "
                   "re-hashed and match")
        return out


def verify_dossier(root: str | Path, *, db: str | Path | None = None) -> Verification:
    """Check every file of the dossier at ``root`` against ``manifest.json`` and re-hash the inputs.

    Parameters
    ----------
    root
        A directory written by ``watchkeeper report``.
    db
        The store the dossier was made from. Its ledger must hold every input of the manifest with the same
        SHA-256, and the input files are looked up at the ledger's paths. Without ``db`` the inputs are re-hashed
        where the manifest's paths point, when a file is there.
    """
    root = Path(root)
    manifest = read_manifest(root)
    result = Verification()
    listed = {f["path"]: f for f in manifest["files"]}
    present = set(dossier_files(root))
    for rel, entry in sorted(listed.items()):
        if rel not in present:
            result.missing.append(rel)
            continue
        sha, size = sha256_file(root / rel)
        if sha != entry["sha256"] or size != entry["size_bytes"]:
            result.changed.append(f"{rel} (sha256 {sha[:16]}..., {size} bytes; manifest {entry['sha256'][:16]}..., "
                                  f"{entry['size_bytes']} bytes)")
        else:
            result.checked.append(rel)
    result.extra = sorted(present - set(listed))
    ledger = _ledger(db) if db is not None else None
    for inp in manifest.get("inputs", []):
        label = f"{inp['name']} (source {inp['source_id']})"
        path = Path(inp["name"])
        if ledger is not None:
            row = ledger.get(inp["source_id"])
            if row is None or row["sha256"] != inp["sha256"]:
                got = "absent" if row is None else row["sha256"][:16] + "..."
                result.inputs_changed.append(f"{label}: ledger of {db} has {got}, manifest {inp['sha256'][:16]}...")
                continue
            path = Path(row["name"])
        if not path.is_file():
            result.inputs_not_found.append(label)
            continue
        sha, size = sha256_file(path)
        if sha != inp["sha256"]:
            result.inputs_changed.append(f"{label}: file has {sha[:16]}..., manifest {inp['sha256'][:16]}...")
        else:
            result.inputs_ok.append(label)
    return result


def _ledger(db) -> dict[int, dict]:
    from watchkeeper.store.catalogue import Store

    with Store.open(db) as store:
        return {r["source_id"]: r for r in store.ledger().to_pylist()}
