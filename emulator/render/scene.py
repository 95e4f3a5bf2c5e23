"""The scene the renderer draws: remote participants that come and go, each an avatar with a state.

The room side calls `add`/`remove`/`update`/`set_speaking` as participants join, move, talk and leave;
the renderer calls `frame(now_us)` once per displayed frame and gets, for each participant, the pose and
morph weights interpolated at `now_us - delay_us` (see `interp.py`). The scene knows nothing of GL, so
it is tested alone. It is not thread-safe: it lives on the thread that renders (the GUI thread in the
app), and network code hands it states through that thread.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from emulator.model.face import Face
from emulator.model.hands import HandPose
from emulator.model.meta_face import MetaFace
from emulator.model.pose import Pose
from emulator.model.visemes import VISEME_COUNT
from emulator.render.anim_lod import PHASES, Cadence, head_pixels_of
from emulator.render.avatar import Avatar
from emulator.render.camera import pose_matrix
from emulator.render.faces import arkit_weights
from emulator.render.interp import DEFAULT_DELAY_US, State, StateBuffer
from emulator.render.posing import BodyYaw, yaw_of

F32 = npt.NDArray[np.float32]

# Tints that stay apart from each other and from the sky and floor colours.
TINTS: tuple[tuple[float, float, float], ...] = (
    (0.35, 0.65, 1.0), (1.0, 0.55, 0.3), (0.45, 0.9, 0.5), (0.9, 0.45, 0.85),
    (1.0, 0.85, 0.3), (0.4, 0.9, 0.9), (0.95, 0.4, 0.45), (0.7, 0.6, 1.0),
)  # fmt: skip


@dataclass
class Participant:
    id: str
    avatar: Avatar
    name: str
    tint: tuple[float, float, float]
    speaking: float = 0.0  # audio level 0..1 (e.g. RMS mapped to 0..1)
    states: StateBuffer = field(default_factory=StateBuffer)
    body: BodyYaw = field(default_factory=BodyYaw)  # a skinned avatar's body yaw, lagging the head's
    cadence: Cadence = field(default_factory=Cadence)  # how often it is posed (anim_lod.py)
    weights: F32 | None = None  # the morph weights drawn last, held with the skin (anim_lod.py)


@dataclass(frozen=True)
class DrawItem:
    """One avatar to draw this frame: everything the renderer needs, nothing it must look up."""

    id: str
    avatar: Avatar
    model: npt.NDArray[np.float64]  # world-from-avatar 4x4
    pose: Pose
    weights: F32  # one per avatar morph target
    tint: tuple[float, float, float]
    name: str
    speaking: float
    left_hand: HandPose | None = None  # received joints, room frame; None: not sent
    right_hand: HandPose | None = None
    skin: F32 | None = None  # (slots, 3, 4) skin matrices of a posed skeleton (posing.py)


class Scene:
    def __init__(self, delay_us: int = DEFAULT_DELAY_US) -> None:
        self.delay_us = delay_us
        self._participants: dict[str, Participant] = {}
        self._next_tint = 0
        self._added = 0

    def __contains__(self, participant_id: str) -> bool:
        return participant_id in self._participants

    def __len__(self) -> int:
        return len(self._participants)

    def participants(self) -> list[Participant]:
        return list(self._participants.values())

    def add(
        self,
        participant_id: str,
        avatar: Avatar,
        name: str = "",
        tint: tuple[float, float, float] | None = None,
    ) -> Participant:
        """Add (or replace the avatar of) a participant; a new one gets the next tint of `TINTS`."""
        existing = self._participants.get(participant_id)
        if existing is not None:
            existing.avatar, existing.name = avatar, name or existing.name
            if tint is not None:
                existing.tint = tint
            return existing
        if tint is None:
            tint = TINTS[self._next_tint % len(TINTS)]
            self._next_tint += 1
        participant = Participant(participant_id, avatar, name or participant_id, tint)
        participant.cadence.phase = self._added % PHASES  # far avatars take turns (anim_lod.py)
        self._added += 1
        self._participants[participant_id] = participant
        return participant

    def remove(self, participant_id: str) -> None:
        self._participants.pop(participant_id, None)

    def update(
        self,
        participant_id: str,
        pose: Pose,
        face: Face | MetaFace | F32 | None = None,
        visemes: F32 | None = None,
        time_us: int | None = None,
        left_hand: HandPose | None = None,
        right_hand: HandPose | None = None,
    ) -> None:
        """A new state; `time_us` (our clock) defaults to the pose's timestamp. Unknown ids are ignored.

        `face` is ARKit's 52 (a Face or an array in Apple's order) or a Quest's MetaFace, mapped onto
        ARKit here; `visemes` are the 15 Oculus viseme weights in the wire order; hands are the latest
        received joints (room frame), None when the participant sends none."""
        participant = self._participants.get(participant_id)
        if participant is None:
            return
        f = None if face is None else arkit_weights(face)
        v = None if visemes is None else np.asarray(visemes, np.float32).reshape(VISEME_COUNT)
        when = pose.timestamp_us if time_us is None else time_us
        participant.states.push(State(when, pose, f, v, left_hand, right_hand))

    def set_speaking(self, participant_id: str, level: float) -> None:
        participant = self._participants.get(participant_id)
        if participant is not None:
            participant.speaking = min(1.0, max(0.0, float(level)))

    def frame(self, now_us: int, head_pixels: Mapping[str, float] | None = None) -> list[DrawItem]:
        """Everyone with at least one state, as they were `delay_us` ago. `head_pixels` (by participant
        id: how tall each head was on screen, `Renderer.head_pixels`) lets small avatars be posed less
        often and less finely (anim_lod.py); without it every avatar is posed fully every frame."""
        items = []
        for p in self._participants.values():
            state = p.states.sample(now_us - self.delay_us)
            if state is None:
                continue
            model, skin, held = pose_matrix(state.pose), None, False
            skeleton = p.avatar.skeleton
            if skeleton is not None:
                yaw = p.body.update(yaw_of(model[:3, :3]), now_us)
                # Arms reach for received hands only on avatars that pose their own fingers; for the
                # others hand_mesh.py draws the hands, and their arms stay relaxed.
                own = p.avatar.draws_own_hands
                hands = (state.left_hand, state.right_hand) if own else (None, None)
                size = head_pixels_of(head_pixels, p.id)
                posed = p.cadence.pose(now_us, skeleton, state.pose, yaw, hands, size)
                if posed is not None:
                    model, skin, held = posed.model, posed.skin, p.cadence.held
            # A held skin holds the face too, the same array: the renderer then knows the skinned
            # vertices are last frame's, moved (batch.py).
            if not held or p.weights is None:
                p.weights = p.avatar.targets.weights(state.face, state.visemes)
            weights = p.weights
            items.append(
                DrawItem(
                    p.id,
                    p.avatar,
                    model,
                    state.pose,
                    weights,
                    p.tint,
                    p.name,
                    p.speaking,
                    state.left_hand,
                    state.right_hand,
                    skin=skin,
                )
            )
        return items
