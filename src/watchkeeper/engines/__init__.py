"""Detection engines: run every detector over a store and write the events back to it.

``local``
    One process: reads positions and statics through DuckDB, segments, estimates reception and calls each
    detector of :mod:`watchkeeper.detect` in turn (:func:`watchkeeper.engines.local.run_detection`).
"""
