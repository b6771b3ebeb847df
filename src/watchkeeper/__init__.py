"""Watchkeeper: open-source sanctions monitoring for shipping, from raw AIS to evidence."""

__version__ = "0.1.0"
