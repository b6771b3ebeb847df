"""Detection engines: run every detector over a store and write the events back to it.

``local``
    One process: reads positions and statics through DuckDB, segments, estimates reception and calls each
    detector of :mod:`watchkeeper.detect` in turn (:func:`watchkeeper.engines.local.run_detection`).
"""

import contextlib
import gc

# The garbage collector's thresholds while detecting (Python's default is 700, 10, 10). Building event rows makes
# many small objects, and with the default the collections cost each worker about 0.45 s and the parent 0.5 s of
# the 20M-position benchmark (every full pass walks all the parent's objects). Detection makes almost no reference
# cycles, so a collection every 100,000 net allocations loses nothing.
GC_THRESHOLDS = (100_000, 50, 100)


@contextlib.contextmanager
def rare_collections():
    """Run the garbage collector rarely (:data:`GC_THRESHOLDS`) inside the block; the caller's thresholds come
    back afterwards (this may be the caller's process)."""
    before = gc.get_threshold()
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*before)

