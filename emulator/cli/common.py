"""What every subcommand shares: the user-facing error."""

from __future__ import annotations


class CommandError(Exception):
    """A problem the user can fix; printed as one line with no traceback."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code
