"""The probe's mouth speaks (espeak-ng), and without pauses long enough to delay its first audio."""

from __future__ import annotations

import numpy as np

from emulator.audio.speech import open_speech_source
from emulator.qa.probe import HEARD_DBFS, MOUTH_AUDIO

FRAME = 960  # 20 ms, the block the ear's first-audio check looks at


def test_the_probe_mouth_speaks_on_without_long_pauses() -> None:
    source = open_speech_source(MOUTH_AUDIO.text)
    assert source.duration > 30  # longer than a run's default 20 s timeout, with room to spare
    audio = np.concatenate([source.read(FRAME) for _ in range(round(source.duration * 50))])
    frames = audio[: len(audio) // FRAME * FRAME].reshape(-1, FRAME).astype(np.float64)
    heard = 20 * np.log10(np.sqrt(np.mean(frames**2, axis=1)) + 1e-9) > HEARD_DBFS
    # Speech, not a tone: its level comes and goes with the syllables.
    assert 0.3 < heard.mean() < 0.9, heard.mean()
    quiet, longest = 0, 0
    for loud in heard:
        quiet = 0 if loud else quiet + 1
        longest = max(longest, quiet)
    assert longest * 20 <= 500, f"a {longest * 20} ms pause would delay first audio"
