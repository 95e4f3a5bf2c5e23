"""State-stream codec: time per STATE and bytes per second per participant, binary vs the JSON twin.

Everything is measured in one run on the same messages, so the JSON/binary ratios are the figures to
read; absolute microseconds depend on the machine (and on what else it is doing).

How face rides along: the pose goes out at the profile's pose rate (90 Hz) and the face at its face
rate (60 Hz) inside those same messages, i.e. 2 of every 3 pose messages carry a face; hands ride in
hand-rate of them (30 Hz). One datagram per message, as the data channel sends them.
"""

from __future__ import annotations

import math
import timeit
from collections.abc import Callable

import numpy as np

from emulator.model.hands import (
    CANONICAL_RADII,
    HAND_JOINT_COUNT,
    HandJoint,
    HandPose,
    HandSide,
    hand_pose,
    orientations_from_positions,
)
from emulator.model.pose import Pose, Quat, Vec3
from emulator.model.profiles import load_profile
from emulator.wire import (
    FaceEncoder,
    FaceSet,
    FaceUpdate,
    State,
    from_json,
    parse_message,
    stamp_sender,
    to_json,
)
from emulator.wire.hands import _LEVELS, _PARENTS, DELTA_JOINTS, HAND_BLOCK_SIZE, QuantizedHand
from emulator.wire.quantize import POSE_SIZE, unpack_orientation, unpack_position_mm
from tests.benchmarks.report import Section

SECONDS = 10  # of simulated stream per profile and stream kind
# Rough per-datagram cost below the codec: IPv4 20 + UDP 8 + DTLS 1.2 record with AES-GCM 13+8+16 +
# SCTP common header 12 + DATA chunk 16. An estimate from the header sizes, not a measurement.
TRANSPORT_OVERHEAD = 93


def _best_us(fn: Callable[[], object], number: int) -> float:
    """Best of nine runs, per call, in microseconds (the least disturbed by other processes)."""
    return min(timeit.repeat(fn, number=number, repeat=9)) / number * 1e6


def _head(t: float) -> Pose:
    return Pose(
        Vec3(0.3 * math.sin(t * 0.7), 1.6 + 0.02 * math.sin(t * 3.1), -1.0 + 0.2 * math.cos(t * 0.5)),
        Quat.from_euler(0.6 * math.sin(t * 0.9), 0.2 * math.sin(t * 1.3), 0.05 * math.sin(t * 2.0)),
    )


def _hands(t: float) -> tuple[HandPose, HandPose]:
    curl = 0.5 + 0.5 * math.sin(t * 2.0)
    left = hand_pose(HandSide.LEFT, Pose.at(-0.2, 1.2, -0.35, yaw_degrees=10), curl=curl)
    right = hand_pose(HandSide.RIGHT, Pose.at(0.2, 1.2, -0.35, yaw_degrees=-10), curl=1 - curl, spread=0.3)
    return left, right


class TalkingFace:
    """A synthetic tracked face: ~a quarter of the weights move smoothly (speech, blinks, gaze), every
    weight jitters by tracker noise of ±0.5%, so a level changes now and then even on a still feature."""

    def __init__(self, count: int, seed: int = 3, noise: float = 0.005) -> None:
        rng = np.random.default_rng(seed)
        self.rng = rng
        self.noise = noise
        self.base = rng.uniform(0.0, 0.3, count)
        self.moving = rng.choice(count, size=count // 4, replace=False)
        self.freq = rng.uniform(1.0, 6.0, self.moving.size)
        self.phase = rng.uniform(0, 2 * math.pi, self.moving.size)

    def at(self, t: float) -> np.ndarray:
        w = self.base + (self.rng.normal(0.0, self.noise, self.base.size) if self.noise else 0.0)
        w[self.moving] = 0.5 + 0.5 * np.sin(self.freq * t + self.phase)
        return np.clip(w, 0.0, 1.0)


def _timings() -> Section:
    t = 1.234
    pose = _head(t)
    left, right = _hands(t)
    arkit = TalkingFace(52).at(t)
    meta = TalkingFace(70).at(t)
    changed = FaceUpdate.of_changes(FaceSet.ARKIT52, {i: float(arkit[i]) for i in range(0, 52, 4)})
    full_arkit = FaceUpdate.of_weights(FaceSet.ARKIT52, arkit)
    full_meta = FaceUpdate.of_weights(FaceSet.META70, meta)
    cases = [
        ("pose only", State(seq=1, timestamp=1, pose=pose)),
        ("pose + 52 ARKit weights", State(seq=1, timestamp=1, pose=pose, face=full_arkit)),
        ("pose + 13 changed ARKit weights", State(seq=1, timestamp=1, pose=pose, face=changed)),
        ("pose + 70 Meta weights", State(seq=1, timestamp=1, pose=pose, face=full_meta)),
        ("pose + both hands", State(seq=1, timestamp=1, pose=pose, left_hand=left, right_hand=right)),
    ]
    rows = []
    for name, message in cases:
        data = bytes(message)
        text = to_json(message)
        number = 200 if message.left_hand is not None else 3000
        enc_b = _best_us(lambda m=message: bytes(m), number)
        dec_b = _best_us(lambda d=data: parse_message(d), number)
        enc_j = _best_us(lambda m=message: to_json(m), number)
        dec_j = _best_us(lambda s=text: from_json(s), number)
        rows.append([
            name, str(len(data)), str(len(text.encode())), f"{enc_b:.1f}", f"{dec_b:.1f}", f"{enc_j:.1f}",
            f"{dec_j:.1f}", f"{(enc_j + dec_j) / (enc_b + dec_b):.2f}",
        ])  # fmt: skip
    stamp_us = _best_us(lambda d=bytes(cases[1][1]): stamp_sender(d, 42), 20000)
    return Section(
        "Wire: encode + decode time per STATE, binary vs JSON twin",
        [
            "message",
            "binary bytes",
            "JSON bytes",
            "bin encode µs",
            "bin decode µs",
            "JSON encode µs",
            "JSON decode µs",
            "JSON/bin time",
        ],
        rows,
        [
            "Best of 9 runs of many calls each, single thread, CPython; decode includes validation but not "
            "rebuilding a hand's joint orientations, which waits until they are read (next table).",
            "JSON bytes are the compact UTF-8 text (no spaces) the JSON twin sends for the same message.",
            f"The room's per-message work, stamp_sender (header check + sender rewrite) on the 72-byte "
            f"message: {stamp_us:.2f} µs.",
        ],
    )


def _decode_hands_as_before(data: bytes) -> list[HandPose]:
    """The receiver's hand decoding before orientations were rebuilt on demand: joints level by level,
    the block re-checked, every orientation rebuilt on arrival (kept here to compare in one run)."""
    out = []
    for k, side in enumerate(HandSide):
        offset = len(data) - (2 - k) * HAND_BLOCK_SIZE
        wrist = unpack_position_mm(data, offset)
        wrist_q = unpack_orientation(data, offset + 6)
        deltas = np.frombuffer(
            data, dtype=np.int8, count=3 * len(DELTA_JOINTS), offset=offset + POSE_SIZE + 1
        )
        per_joint = np.zeros((HAND_JOINT_COUNT, 3), dtype=np.int64)
        per_joint[DELTA_JOINTS] = deltas.reshape(-1, 3)
        decoded = np.zeros((HAND_JOINT_COUNT, 3), dtype=np.int64)
        decoded[HandJoint.WRIST] = wrist
        for level in _LEVELS:
            decoded[level] = decoded[_PARENTS[level]] + per_joint[level]
        hand = QuantizedHand(side, decoded, wrist_q, data[offset + POSE_SIZE])
        positions = hand.joints_mm / 1000.0
        q = orientations_from_positions(side, positions, np.array(wrist_q.as_tuple()))
        out.append(HandPose(side, positions, q, CANONICAL_RADII * hand.radius_level / 100.0))
    return out


def _decode_and_read(data: bytes) -> object:
    message = parse_message(data)
    assert isinstance(message, State) and message.left_hand and message.right_hand
    return message.left_hand.orientations, message.right_hand.orientations


def _receiving_hands() -> Section:
    left, right = _hands(1.234)
    data = bytes(State(seq=1, timestamp=1, left_hand=left, right_hand=right))
    before = _decode_hands_as_before(data)
    after = parse_message(data)
    assert isinstance(after, State) and [after.left_hand, after.right_hand] == before  # same hands
    rows = [
        ["decode STATE with two hands, orientations rebuilt on arrival (before)",
         f"{_best_us(lambda: _decode_hands_as_before(data), 300):.1f}"],
        ["decode STATE with two hands", f"{_best_us(lambda: parse_message(data), 300):.1f}"],
        ["decode + read orientations", f"{_best_us(lambda: _decode_and_read(data), 300):.1f}"],
    ]  # fmt: skip
    return Section(
        "Wire: receiving hands",
        [f"decoding a {len(data)}-byte STATE with both hands", "µs"],
        rows,
        [
            "Best of 9 runs, single thread, one run of the bench; 'before' is the decoder as it was, kept in "
            "the bench. A received hand rebuilds its joint orientations when something first reads them "
            "(the renderer's hand mesh); a receiver that only logs or forwards hands never pays that.",
        ],
    )


def _stream_bytes(profile_key: str, kind: str) -> tuple[int, int, int]:
    """(messages, binary bytes, JSON bytes) for SECONDS of one participant's stream."""
    profile = load_profile(profile_key)
    face_set = FaceSet.from_key(profile.face_set)
    face = TalkingFace(face_set.count, noise=0.0 if "still" in kind else 0.005)
    encoder = FaceEncoder(face_set, full_every=30)
    pose_hz = profile.pose_rate_hz
    messages = binary = text = 0
    for n in range(SECONDS * pose_hz):
        t = n / pose_hz
        update = None
        # Face in face_rate of the pose_rate messages (60 of 90: two of every three).
        if (
            kind != "pose"
            and (n * profile.face_rate_hz) // pose_hz != ((n - 1) * profile.face_rate_hz) // pose_hz
        ):
            weights = face.at(t)
            update = (
                FaceUpdate.of_weights(face_set, weights) if kind == "full face" else encoder.update(weights)
            )
        hands: tuple[object, object] = (None, None)
        if (
            kind == "changed face + hands"
            and (n * profile.hand_rate_hz) // pose_hz != ((n - 1) * profile.hand_rate_hz) // pose_hz
        ):
            hands = _hands(t)
        message = State(
            seq=n & 0xFFFF, timestamp=round(t * 1e6), pose=_head(t), face=update, left_hand=hands[0],
            right_hand=hands[1],
        )  # fmt: skip
        messages += 1
        binary += len(bytes(message))
        text += len(to_json(message).encode())
    return messages, binary, text


def _rates() -> Section:
    rows = []
    for key in ("visionpro", "quest3"):
        profile = load_profile(key)
        for kind in (
            "pose",
            "full face",
            "changed face",
            "changed face, still tracker",
            "changed face + hands",
        ):
            messages, binary, text = _stream_bytes(key, kind)
            per_s = messages / SECONDS
            b, j = binary / SECONDS, text / SECONDS
            wire = (binary + messages * TRANSPORT_OVERHEAD) / SECONDS
            kbps = [f"{x * 8 / 1000:.1f}" for x in (b, j, wire)]
            rows.append([
                f"{profile.name} ({profile.face_set})", kind, f"{per_s:.0f}", f"{b / per_s:.1f}", f"{b:,.0f}",
                kbps[0], f"{j:,.0f}", kbps[1], f"{j / b:.1f}×", kbps[2],
            ])  # fmt: skip
    return Section(
        "Wire: bytes per second per participant at Vision Pro and Quest 3 rates",
        [
            "profile",
            "stream",
            "msgs/s",
            "bin B/msg",
            "binary B/s",
            "binary kbps",
            "JSON B/s",
            "JSON kbps",
            "JSON/bin",
            "binary + transport kbps",
        ],
        rows,
        [
            "Pose at 90 Hz in every message; face at 60 Hz riding in 2 of every 3 pose messages; hands "
            "(both) at 30 Hz riding in 1 of every 3. 10 s of stream per row.",
            "'full face' sends every weight every time; 'changed face' uses FaceEncoder (full face every "
            "30 updates, otherwise only weights whose level changed) on a synthetic tracked face: a quarter "
            "of the weights move all the time, the rest jitter by ±0.5% tracker noise (more than one 1/255 "
            "level, so most levels change every frame and changed-only saves little); 'still tracker' is "
            "the same face without noise, where the unmoving three quarters cost nothing.",
            "JSON changed faces name each weight, which is why they can be longer than JSON full faces.",
            f"'binary + transport' adds an estimated {TRANSPORT_OVERHEAD} bytes of IPv4/UDP/DTLS/SCTP "
            "headers per datagram (from the header sizes, not measured): at 90 messages/s that overhead "
            "is larger than the payload, so sending fewer, fuller messages saves more than squeezing bytes.",
        ],
    )


def run() -> list[Section]:
    return [_timings(), _receiving_hands(), _rates()]
