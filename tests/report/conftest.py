"""Fixtures of the dossier tests: the store of report_voyage.py (a synthetic voyage, ingested and detected)."""

from report_voyage import voyage_store  # noqa: F401
