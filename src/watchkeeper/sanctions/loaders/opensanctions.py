"""FollowTheMoney entities as JSON lines (OpenSanctions ``entities.ftm.json``): one entity object per line.

Entities are kept as they are (schema, id, properties); identifiers come from their properties.
"""

from __future__ import annotations

import json

from watchkeeper.errors import InputError
from watchkeeper.sanctions.loaders import ListData


def load(data: bytes, *, fmt: str = "ftm_jsonl", name: str = "") -> ListData:
    from followthemoney import model
    from followthemoney.exc import InvalidData

    out = ListData("opensanctions", fmt)
    for n, line in enumerate(data.decode("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            out.entities.append(model.get_proxy(obj, cleaned=False))
        except (ValueError, InvalidData, KeyError, TypeError) as exc:
            raise InputError(f"line {n} is not a FollowTheMoney entity ({exc})", where=name or None,
                             fix="give an FtM JSON-lines export (one entity object per line)") from None
    return out
