"""``manifest.json``: the chain of custody of a dossier directory.

The manifest lists every file of the dossier with its SHA-256 and size, the input files of the store with the
SHA-256 the ledger recorded when they were ingested, the configuration and its SHA-256, the software version and
the generation time. It does not list itself. Keys are sorted and the text is indented, so it diffs well::

    {"manifest_version": 1, "generated_at": "...Z", "software_version": "0.1.0",
     "config_sha256": "...", "config": {...}, "vessels": [{"mmsis": [...], "files": [...]}],
     "files": [{"path": "vessel-273354260.html", "sha256": "...", "size_bytes": 123}, ...],
     "inputs": [{"source_id": 1, "name": "...", "sha256": "...", "size_bytes": 1, "ingested_at": "...Z"}, ...]}
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

MANIFEST = "manifest.json"
MANIFEST_VERSION = 1


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> tuple[str, int]:
    """SHA-256 (hex) and size in bytes of a file."""
    h, n = hashlib.sha256(), 0
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
            n += len(block)
    return h.hexdigest(), n


def dossier_files(root: Path) -> list[str]:
    """Every file under ``root`` except the manifest, as sorted POSIX paths relative to ``root``."""
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*")
                  if p.is_file() and p.relative_to(root).as_posix() != MANIFEST)


def build_manifest(root: str | Path, *, generated_at: str, software_version: str, config, inputs: list[dict],
                   vessels: list[dict]) -> dict:
    """The manifest of the dossier directory ``root`` as it is now (see the module docstring)."""
    root = Path(root)
    files = []
    for rel in dossier_files(root):
        sha, size = sha256_file(root / rel)
        files.append({"path": rel, "sha256": sha, "size_bytes": size})
    return {
        "manifest_version": MANIFEST_VERSION, "generated_at": generated_at, "software_version": software_version,
        "config_sha256": config.sha256(), "config": config.to_dict(), "vessels": vessels, "files": files,
        "inputs": [{k: r[k] for k in ("source_id", "name", "sha256", "size_bytes", "ingested_at")} for r in inputs],
    }


def write_manifest(root: str | Path, manifest: dict) -> Path:
    path = Path(root) / MANIFEST
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def read_manifest(root: str | Path) -> dict:
    from watchkeeper.errors import InputError

    path = Path(root) / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("no manifest.json: not a Watchkeeper dossier directory", where=str(root),
                         fix="give the directory written by `watchkeeper report -o DIR`") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise InputError(f"manifest.json is not valid JSON ({e})", where=str(path),
                         fix="the manifest was damaged; make the dossier again from the store") from None
    if not isinstance(data, dict) or not isinstance(data.get("files"), list):
        raise InputError("manifest.json has no file list", where=str(path),
                         fix="the manifest was damaged; make the dossier again from the store")
    return data
