"""Ingestion: sources (NMEA files, CSV exports) to the canonical tables of :mod:`watchkeeper.schema`.

Each reader is a generator of :class:`~watchkeeper.ingest.batch.Batch` objects for one input file; the store
(:mod:`watchkeeper.store`) writes them. Readers never print; they report through the batches' counters.
"""
