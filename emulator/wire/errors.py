"""The one error the codec raises, for hostile bytes and for values that cannot be encoded alike."""


class WireError(ValueError):
    """A message that cannot be parsed or built; `reason` says what is wrong, in one line.

    Callers on the network path count and drop these; nothing else escapes `parse`, `from_json`,
    `stamp_sender` or `peek_header`, whatever bytes arrive.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
