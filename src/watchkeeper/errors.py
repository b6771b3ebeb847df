"""The one exception root of Watchkeeper and its few subclasses.

Every error a user can cause derives from :class:`WatchkeeperError`. Its message says *what* went wrong,
*where* (a path, ``file:line`` or a column name) and *how to fix it*; the command line prints it without a
traceback and exits non-zero. Third-party exceptions are translated into these at the boundary.
"""

from __future__ import annotations


class WatchkeeperError(Exception):
    """Root of every user-facing Watchkeeper error."""

    exit_code = 2

    def __init__(self, what: str, *, where: str | None = None, fix: str | None = None):
        self.what = what
        self.where = where
        self.fix = fix
        super().__init__(self.render())

    def render(self) -> str:
        head = f"{self.where}: {self.what}" if self.where else self.what
        return f"{head}\n  fix: {self.fix}" if self.fix else head


class InputError(WatchkeeperError):
    """An input file or stream cannot be read as AIS data (missing, empty, binary, truncated, wrong columns)."""


class StoreError(WatchkeeperError):
    """The store directory is missing, not a Watchkeeper store, or of an unsupported version."""


class ConfigError(WatchkeeperError):
    """An option or a configuration value is invalid."""
