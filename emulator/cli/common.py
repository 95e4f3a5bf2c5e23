"""What every subcommand shares: the user-facing error and small argument parsers."""

from __future__ import annotations


class CommandError(Exception):
    """A problem the user can fix; printed as one line with no traceback."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def parse_vector(text: str, count: int = 3) -> tuple[float, ...]:
    """`"1,0,-2"` → (1.0, 0.0, -2.0); a clear error for anything else."""
    parts = text.split(",")
    try:
        values = tuple(float(p) for p in parts)
    except ValueError:
        raise CommandError(f"expected {count} comma-separated numbers, got {text!r}") from None
    if len(values) != count:
        raise CommandError(f"expected {count} comma-separated numbers, got {text!r}")
    return values
