"""Sanctions lists: loaders to FollowTheMoney entities, the entity store, and AIS identity screening.

Public entry points (see ``docs/screening.md``):

- :func:`watchkeeper.sanctions.store.load_files` — load list files into a store (idempotent by SHA-256).
- :func:`watchkeeper.sanctions.screen.screen_store` — screen the store's AIS identities; returns the
  ``screening`` table (columns documented in :mod:`watchkeeper.sanctions.screen`).
- :func:`watchkeeper.sanctions.screen.vessel_report` — identity history and list matches of one MMSI or IMO.
"""
