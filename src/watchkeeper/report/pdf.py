"""The dossier's PDF: WeasyPrint renders the HTML, with every remote fetch refused."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import threading
from pathlib import Path

from watchkeeper.errors import WatchkeeperError

_ENV_LOCK = threading.Lock()


def _no_fetch(url: str, *args, **kwargs):
    raise ValueError(f"dossiers load nothing: refused {url}")


@contextlib.contextmanager
def _source_date_epoch(generated_at: str | None):
    """Set ``SOURCE_DATE_EPOCH`` while rendering: fontTools stamps each embedded font subset with the current
    time unless it is set, which would make two renderings of the same HTML differ."""
    if generated_at is None:
        yield
        return
    when = dt.datetime.fromisoformat(generated_at.replace("Z", "+00:00"))
    with _ENV_LOCK:
        old = os.environ.get("SOURCE_DATE_EPOCH")
        os.environ["SOURCE_DATE_EPOCH"] = str(int(when.timestamp()))
        try:
            yield
        finally:
            if old is None:
                del os.environ["SOURCE_DATE_EPOCH"]
            else:
                os.environ["SOURCE_DATE_EPOCH"] = old


def write_pdf(html_text: str, path: str | Path, *, generated_at: str | None = None) -> None:
    """Render ``html_text`` to ``path`` as PDF (A4, fonts embedded from the local system).

    The PDF's creation date comes from the HTML's ``dcterms.created``, and the embedded fonts are stamped with
    ``generated_at`` (ISO 8601), so rendering the same HTML with the same ``generated_at`` gives the same bytes.
    """
    try:
        from weasyprint import HTML
    except (ImportError, OSError) as e:  # OSError: pango/cairo system libraries missing
        raise WatchkeeperError(f"cannot render PDF: WeasyPrint is not usable ({e})", where="report",
                               fix="pip install weasyprint==70.0 and the Pango library (apt install "
                                   "libpango-1.0-0 libpangoft2-1.0-0), or pass --no-pdf") from None
    with _source_date_epoch(generated_at):
        HTML(string=html_text, url_fetcher=_no_fetch).write_pdf(str(path))
