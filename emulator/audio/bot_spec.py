"""The number in a `bot:N` audio spec: the factory checks it when the spec is parsed, the speech
module when it opens the bot's voice, and both word a bad one the same way."""

from __future__ import annotations


def bot_number(text: str) -> int:
    """The bot's index; ValueError naming what is wrong otherwise."""
    try:
        index = int(text)
    except ValueError:
        raise ValueError(f"bot: needs a bot number, e.g. bot:0, got {text!r}") from None
    if index < 0:
        raise ValueError(f"bot: needs a bot number >= 0, got {index}")
    return index
