"""The errors of the drive layer: one base type, so a caller can catch every bad spec or file at once."""


class DriveError(ValueError):
    """A motion or face spec, a placement or a binding that cannot be used; the message says why."""


class TraceError(DriveError):
    """A pose trace (JSONL) that cannot be replayed; the message names the file and line."""


class FaceCsvError(DriveError):
    """A Live Link Face CSV that cannot be played; the message names the file, line and column."""
