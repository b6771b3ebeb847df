"""Tracks: per-MMSI, time-ordered, deduplicated positions split into segments, one per transmitter.

:func:`watchkeeper.tracks.segment.segment` takes rows of :data:`watchkeeper.schema.POSITIONS` and returns them
sorted, deduplicated and labelled with a ``segment_id``, an ``implied_speed_kn`` and an ``implausible`` flag;
:func:`~watchkeeper.tracks.segment.segment_tracks` returns the same as the NumPy arrays the detectors share
(:class:`~watchkeeper.tracks.arrays.Tracks`).
Every detector that follows a vessel through time (gaps, encounters, loitering, jumps) works per segment, so two
transmitters sharing one MMSI are never mixed into one track. The algorithm is described in ``docs/tracks.md``.
"""

from watchkeeper.tracks.arrays import Tracks, as_tracks
from watchkeeper.tracks.segment import segment, segment_tracks

__all__ = ["Tracks", "as_tracks", "segment", "segment_tracks"]
