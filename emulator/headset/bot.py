"""Talking bots: a headset that walks a scripted path and speaks, its mouth following its own speech.

The demo's bots, and any test that wants a participant who talks like a person rather than a tone.
The face is sampled on the speech source's own clock (`SpeechSource.position`, the seconds of audio
the encoder has read), not the headset's, so mouth and voice leave together even if the encoder
started late or skipped. The source is handed to the headset (`Headset(source=...)`) so that the
encoder reads this very source; markers are off because a chirp every 2 s would spoil the speech.

Runs on the headset's loop thread: the encoder reads the source and the state sender samples the face
there, one after the other.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from emulator.audio.factory import AudioSpec
from emulator.audio.speech import SpeechSource, bot_source
from emulator.drive.faces import Blink, FaceDriver
from emulator.drive.hands import HandsDriver, Talk
from emulator.drive.motions import Motion
from emulator.drive.visemes import VisemeFaceDriver
from emulator.headset.config import HeadsetConfig
from emulator.headset.core import Headset
from emulator.model.face import Face
from emulator.model.pose import Pose


@dataclass
class TalkingDriver:
    """Pose from a scripted motion, face from the speech's visemes plus natural blinks."""

    motion: Motion
    speech: SpeechSource
    blink: FaceDriver
    mouth: VisemeFaceDriver

    @staticmethod
    def for_speech(motion: Motion, speech: SpeechSource, seed: int = 0) -> TalkingDriver:
        period = speech.duration if speech.loop else None
        return TalkingDriver(
            motion, speech, Blink(seed=seed), VisemeFaceDriver(speech.visemes, period=period)
        )

    def sample(self, t: float) -> tuple[Pose, Face]:
        face = self.mouth.face_at(self.speech.position)
        # The blink only touches the eyes, the visemes only the mouth: the larger of the two wins.
        eyes = self.blink.sample(t)
        np.maximum(face.weights, eyes.weights, out=face.weights)
        return self.motion.sample(t), face


def talking_bot(config: HeadsetConfig, index: int, hands: HandsDriver | None = None) -> Headset:
    """A headset for demo bot `index` (its own lines and voice), moving as `config.motion` says and
    gesturing as it talks (`hands`, by default the `talk` preset).

    Raises `SpeechError` when speech cannot be made (espeak-ng missing) and `DriveError` for a motion
    trace that cannot be read; the caller decides whether a silent bot will do.
    """
    speech = bot_source(index)
    try:
        motion = config.motion.build(config.placement)
        driver = TalkingDriver.for_speech(motion, speech, seed=index)
        bot_config = replace(
            config,
            audio=AudioSpec.parse(f"bot:{index}"),
            marker_period_s=0.0,
            hands=hands or Talk(period=2.6 + 0.3 * index),
        )
        return Headset(bot_config, drivers=driver, source=speech)
    except BaseException:
        speech.close()
        raise
