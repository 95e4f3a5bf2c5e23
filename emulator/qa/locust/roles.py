"""Who speaks, who measures, which motion a user takes and where it stands: as a swarm hands them out.

A swarm numbers its members across its workers; a Locust worker knows only its own index and its own
users (not how many workers or users the others have), so the same rules are stated per worker.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from emulator.qa.locust.options import HeadsetOptions
from emulator.qa.swarm import MOTIONS


@dataclass(frozen=True)
class Role:
    audio: str  # an audio spec; "none" sends no voice
    detect_markers: bool  # decodes every voice it hears and measures mouth-to-ear
    motion: str


def role_of(options: HeadsetOptions, worker: int, number: int) -> Role:
    """The role of user `number` (0, 1, … in its worker process) of worker `worker`."""
    first = worker == 0
    # The speakers are the first users of the whole test (its first worker's): they share one encoder,
    # and their count does not grow with the workers.
    speaks = first and number < options.speakers
    # The measuring users come next, not among the speakers: like swarm's last member, each decodes
    # every voice there is; a measuring speaker would decode one fewer than the swarm's.
    measures = first and options.speakers <= number < options.speakers + options.measuring
    # Each worker starts one motion further on (as rooms are spread), so that two workers of six hold
    # swarm's mix of twelve rather than the first motion twice over.
    motion = options.motion if options.motion != "mixed" else MOTIONS[(number + worker) % len(MOTIONS)]
    return Role(options.audio if speaks else "none", measures, motion)


RADIUS_M = 3.0  # the first ring of users around the room's centre
RING_STEP_M = 0.6  # each further ring of 12
SPOTS = 12
# Each worker turns its rings by this fraction of a spot more than the one before (the golden ratio's,
# mod 1): however many workers there are, their users fall between each other's, never on them.
WORKER_TURN = (math.sqrt(5) - 1) / 2


def place_of(worker: int, number: int) -> tuple[float, float, float]:
    """Where user `number` of worker `worker` stands, (x, z) in metres, facing the centre (yaw, degrees).

    A worker knows only its own users, so without the turn two workers put theirs on the same spots."""
    ring, spot = divmod(number, SPOTS)
    radius = RADIUS_M + RING_STEP_M * ring
    angle = 2 * math.pi * (spot + (worker * WORKER_TURN) % 1.0) / SPOTS
    x, z = radius * math.sin(angle), -radius * math.cos(angle)
    return x, z, math.degrees(math.atan2(x, -z))
