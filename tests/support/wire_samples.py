"""Deterministic sample messages (golden fixtures, benchmarks) and hypothesis strategies for the codec.

Sample hands are rounded to whole millimetres before they are quantized, so the fixture bytes do not
depend on the last bit of numpy's trigonometry.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st

from emulator.model.face import ARKIT_COUNT
from emulator.model.hands import HandPose, HandSide, hand_pose
from emulator.model.meta_face import META_COUNT
from emulator.model.pose import Pose, Quat, Vec3
from emulator.model.visemes import Viseme
from emulator.wire import (
    FaceSet,
    FaceUpdate,
    Hello,
    Message,
    Ping,
    Pong,
    State,
    VisemeEntry,
    Visemes,
)


def rounded_hand(side: HandSide, wrist: Pose, curl: float, spread: float = 0.0) -> HandPose:
    h = hand_pose(side, wrist, curl=curl, spread=spread)
    return HandPose(side, np.round(h.positions, 3), h.orientations, h.radii)


def head_pose(timestamp_us: int = 0) -> Pose:
    return Pose(
        Vec3(0.25, 1.62, -1.5), Quat.from_euler(math.radians(30), math.radians(-10), 0.0), timestamp_us
    )


def sample_arkit_weights() -> np.ndarray:
    return (np.arange(ARKIT_COUNT) * 37 % 256) / 255.0


def sample_meta_weights() -> np.ndarray:
    return (np.arange(META_COUNT) * 53 % 256) / 255.0


def samples() -> dict[str, Message]:
    """One or more messages of every type, named like their fixture files."""
    pose = head_pose()
    left = rounded_hand(HandSide.LEFT, Pose.at(-0.2, 1.2, -0.35, yaw_degrees=10), curl=0.2)
    right = rounded_hand(HandSide.RIGHT, Pose.at(0.2, 1.25, -0.35, yaw_degrees=-20), curl=0.7, spread=0.5)
    arkit_changed = FaceUpdate.of_changes(FaceSet.ARKIT52, {17: 0.5, 23: 0.8, 24: 0.79, 51: 1.0})
    meta_changed = FaceUpdate.of_changes(FaceSet.META70, {0: 0.25, 24: 0.6, 69: 0.1})
    common = {"seq": 513, "timestamp": 4_000_000_123}
    arkit_full = FaceUpdate.of_weights(FaceSet.ARKIT52, sample_arkit_weights())
    meta_full = FaceUpdate.of_weights(FaceSet.META70, sample_meta_weights())
    return {
        "state_empty": State(**common),
        "state_pose": State(**common, pose=pose),
        "state_pose_face": State(**common, pose=pose, face=arkit_full),
        "state_pose_face_changed": State(**common, pose=pose, face=arkit_changed),
        "state_meta_full": State(**common, pose=pose, face=meta_full),
        "state_meta_changed": State(**common, face=meta_changed),
        "state_pose_hands": State(**common, pose=pose, left_hand=left, right_hand=right),
        "state_right_hand": State(**common, sender=12, right_hand=right),
        "visemes": Visemes(
            **common,
            entries=(
                VisemeEntry(Viseme.sil, 1.0, 0),
                VisemeEntry(Viseme.PP, 0.6, 40),
                VisemeEntry(Viseme.aa, 0.9, 95),
                VisemeEntry(Viseme.U, 0.3, 65535),
            ),
        ),
        "visemes_empty": Visemes(seq=1, timestamp=7),
        "hello": Hello(
            **common,
            display_name="Ada · headset ✓",
            profile="visionpro",
            avatar="https://models.example.invalid/ada.glb",
            face_set=FaceSet.ARKIT52,
        ),
        "hello_quest": Hello(seq=2, display_name="Quest tester", profile="quest3", face_set=FaceSet.META70),
        "ping": Ping(seq=65535, timestamp=4_294_967_295),
        "pong": Pong(
            seq=9,
            timestamp=1_000_250,
            ping_seq=65535,
            ping_timestamp=4_294_967_295,
            receive_timestamp=1_000_000,
        ),
        "pong_addressed": Pong(
            seq=10,
            sender=4,
            timestamp=2_000_250,
            ping_seq=17,
            ping_timestamp=1_999_000,
            receive_timestamp=2_000_000,
            to=65535,
        ),
    }


# -- hypothesis strategies for valid messages ------------------------------------------------------

u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFF_FFFF)
coordinate = st.floats(-32.0, 32.0, allow_nan=False, allow_infinity=False)
unit = st.floats(0.0, 1.0, allow_nan=False)


@st.composite
def quaternions(draw: st.DrawFn) -> Quat:
    parts = draw(
        st.tuples(*[st.floats(-1.0, 1.0, allow_nan=False)] * 4).filter(lambda c: sum(x * x for x in c) > 1e-3)
    )
    return Quat(*parts).normalized()


poses = st.builds(
    lambda x, y, z, q: Pose(Vec3(x, y, z), q), coordinate, coordinate, coordinate, quaternions()
)


@st.composite
def face_updates(draw: st.DrawFn) -> FaceUpdate:
    face_set = draw(st.sampled_from(list(FaceSet)))
    if draw(st.booleans()):
        return FaceUpdate.of_weights(
            face_set, draw(st.lists(unit, min_size=face_set.count, max_size=face_set.count))
        )
    changes = draw(st.dictionaries(st.integers(0, face_set.count - 1), unit, max_size=face_set.count))
    return FaceUpdate.of_changes(face_set, changes)


@st.composite
def hands(draw: st.DrawFn, side: HandSide) -> HandPose:
    wrist = Pose(
        Vec3(draw(st.floats(-30, 30)), draw(st.floats(-2, 3)), draw(st.floats(-30, 30))), draw(quaternions())
    )
    return hand_pose(
        side,
        wrist,
        curl=draw(st.floats(0, 1)),
        spread=draw(st.floats(-1, 1)),
        thumb_curl=draw(st.floats(0, 1)),
        scale=draw(st.floats(0.7, 1.3)),
    )


def _common() -> dict[str, st.SearchStrategy[int]]:
    return {"seq": u16, "sender": u16, "timestamp": u32}


states = st.builds(
    State,
    **_common(),
    pose=st.none() | poses,
    face=st.none() | face_updates(),
    left_hand=st.none() | hands(HandSide.LEFT),
    right_hand=st.none() | hands(HandSide.RIGHT),
)
viseme_entries = st.builds(VisemeEntry, st.sampled_from(list(Viseme)), unit, u16)
visemes = st.builds(Visemes, **_common(), entries=st.lists(viseme_entries, max_size=40).map(tuple))
names = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=20)
profiles = st.from_regex(r"[a-z0-9][a-z0-9._-]{0,30}", fullmatch=True)
hellos = st.builds(
    Hello,
    **_common(),
    display_name=names,
    profile=profiles,
    avatar=names,
    face_set=st.sampled_from(list(FaceSet)),
)
pings = st.builds(Ping, **_common())
pongs = st.builds(
    Pong,
    **_common(),
    ping_seq=u16,
    ping_timestamp=u32,
    receive_timestamp=u32,
    to=st.none() | st.integers(1, 0xFFFF),
)
messages = st.one_of(states, visemes, hellos, pings, pongs)


def message_pool(n: int = 60, seed: int = 1) -> list[Message]:
    """`n` varied valid messages from a seeded generator: cheap seeds for mutation fuzzing."""
    rng = np.random.default_rng(seed)
    pool: list[Message] = list(samples().values())
    while len(pool) < n:
        common = {"seq": int(rng.integers(0, 65536)), "timestamp": int(rng.integers(0, 2**32))}
        kind = rng.integers(0, 5)
        if kind < 3:
            face_set = FaceSet(int(rng.integers(0, 2)))
            face = (
                FaceUpdate.of_weights(face_set, rng.random(face_set.count))
                if rng.random() < 0.5
                else FaceUpdate.of_changes(
                    face_set, {int(i): float(rng.random()) for i in rng.integers(0, 52, 5)}
                )
            )
            wrist = Pose(Vec3(*rng.uniform(-20, 20, 3)), Quat(*rng.normal(size=4)).normalized())
            left, right = (
                hand_pose(side, wrist, curl=rng.random()) if rng.random() < 0.4 else None for side in HandSide
            )
            pool.append(State(
                **common,
                pose=Pose(Vec3(*rng.uniform(-32, 32, 3)), Quat(*rng.normal(size=4)).normalized()),
                face=face if rng.random() < 0.7 else None,
                left_hand=left,
                right_hand=right,
            ))  # fmt: skip
        elif kind == 3:
            entries = tuple(
                VisemeEntry(
                    Viseme(int(rng.integers(0, 15))), float(rng.random()), int(rng.integers(0, 65536))
                )
                for _ in range(int(rng.integers(0, 12)))
            )
            pool.append(Visemes(**common, entries=entries))
        else:
            pool.append(
                Pong(**common, ping_seq=1, ping_timestamp=int(rng.integers(0, 2**32)), receive_timestamp=3)
            )
    return pool
