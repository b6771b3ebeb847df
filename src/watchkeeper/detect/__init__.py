"""Behaviour detection: from clean, segmented tracks to the events a sanctions monitor looks for.

Every detector is a pure function ``f(table, config) -> events table`` over one partition of the store: all rows
of one vessel (per-segment detectors: port visits, gaps, loitering, position jumps, identity), or one space-time
cell plus a margin (encounters). The local and the Dask engines call the same functions.

Modules
-------
events
    The shared event table (:data:`watchkeeper.schema.EVENTS`): deterministic event ids, :func:`make_events`
    (build and validate a batch), and the exporters of the public contract (JSON Lines, CSV, GeoJSON).

One module per event type follows (``port_visits``, ``gaps``, ``dark_port_calls``, ``encounters``, ``loitering``,
``spoofing``, ``identity``, ``surges``). Their thresholds are declared in :mod:`watchkeeper.config` and documented
in ``docs/detections.md``.
"""
