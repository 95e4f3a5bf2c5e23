"""The headset options Locust's command line (and web UI) gains; the master hands them to workers.

The room's URL is Locust's own `--host` (`-H ws://HOST:PORT/ws` or `janus://HOST:PORT/ROOM`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from emulator.audio.factory import AudioSpec
from emulator.drive.faces import FaceSpec
from emulator.drive.hands import hands_from_spec
from emulator.drive.motions import MotionSpec
from emulator.qa.swarm import MOTIONS

DEFAULT_PROFILES = "visionpro:1,quest3:1"


class OptionError(Exception):
    pass


def add_arguments(parser: Any) -> None:
    group = parser.add_argument_group("headset-emulator", "fake headsets (emulator.qa.locust)")
    group.add_argument("--rooms", default="load", help="room names, comma-separated: users spread over them")
    group.add_argument(
        "--profiles",
        default=DEFAULT_PROFILES,
        help="device profile mix, NAME:WEIGHT,… (default visionpro:1,quest3:1)",
    )
    group.add_argument("--motion", default="mixed", help=f"a motion, or mixed ({', '.join(MOTIONS)})")
    group.add_argument("--face", default="talk", help="face driver (default talk)")
    group.add_argument(
        "--hands",
        default="relaxed",
        help="hands driver (none, relaxed, wave, point, pinch, thumbs-up, talk; default relaxed)",
    )
    group.add_argument("--audio", default="tone:440", help="what the speakers send (default tone:440)")
    group.add_argument(
        "--speakers",
        type=int,
        default=2,
        help="how many users send voice (the first ones; default 2)",
    )
    group.add_argument(
        "--measuring",
        type=int,
        default=1,
        help="how many users decode voice and measure mouth-to-ear (the first ones; default 1)",
    )
    group.add_argument(
        "--session-length",
        type=float,
        default=0.0,
        help="seconds a user stays before leaving and joining again (default 0: until the test ends)",
    )
    group.add_argument(
        "--token-file",
        default="",
        help="pre-minted tokens, ROOM IDENTITY TOKEN a line; {worker} in the path is the worker index",
    )
    group.add_argument("--name-prefix", default="locust", help="users are PREFIX-WORKER-NUMBER")


@dataclass(frozen=True)
class HeadsetOptions:
    rooms: tuple[str, ...]
    profiles: tuple[str, ...]  # one entry per weight unit: user n takes profiles[n % len]
    motion: str
    face: str
    hands: str
    audio: str
    speakers: int
    measuring: int
    session_length_s: float
    token_file: str
    name_prefix: str

    @classmethod
    def parse(cls, parsed: Any) -> HeadsetOptions:
        rooms = tuple(r.strip() for r in str(parsed.rooms).split(",") if r.strip())
        if not rooms:
            raise OptionError("--rooms names no room")
        if parsed.speakers < 0 or parsed.measuring < 0 or parsed.session_length < 0:
            raise OptionError("--speakers, --measuring and --session-length cannot be negative")
        if parsed.motion != "mixed":
            _check(MotionSpec.parse, parsed.motion, "--motion")
        _check(FaceSpec.parse, parsed.face, "--face")
        if parsed.hands:
            _check(hands_from_spec, parsed.hands, "--hands")
        _check(AudioSpec.parse, parsed.audio, "--audio")
        return cls(
            rooms,
            profile_mix(str(parsed.profiles)),
            parsed.motion,
            parsed.face,
            parsed.hands,
            parsed.audio,
            parsed.speakers,
            parsed.measuring,
            float(parsed.session_length),
            str(parsed.token_file or ""),
            str(parsed.name_prefix),
        )


def _check(parse: Callable[[str], object], text: str, option: str) -> None:
    """Refuse a bad spec here, on Locust's command line, in its terms: the engine parses it again."""
    try:
        parse(text)
    except ValueError as error:  # DriveError, SourceError
        raise OptionError(f"{option}: {error}") from None


def profile_mix(text: str) -> tuple[str, ...]:
    """`visionpro:3,quest3:1` → the names repeated by weight, interleaved so any run of users mixes."""
    weights: list[tuple[str, int]] = []
    for part in text.split(","):
        name, _, weight = part.strip().partition(":")
        if not name:
            continue
        try:
            count = int(weight) if weight else 1
        except ValueError:
            raise OptionError(f"--profiles {part!r}: the weight is not a whole number") from None
        if not 0 < count <= 100:
            raise OptionError(f"--profiles {part!r}: the weight must be 1-100")
        weights.append((name, count))
    if not weights:
        raise OptionError("--profiles names no profile")
    mix: list[str] = []
    for round_ in range(max(w for _, w in weights)):
        mix += [name for name, w in weights if round_ < w]
    return tuple(mix)
