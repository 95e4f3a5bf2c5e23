"""Simple hand meshes built from the 26 OpenXR joints, for avatars that have no finger bones of their own.

A hand is a palm slab through the wrist and the four finger bases, and one six-sided tube per finger
bone (thumb metacarpal to tip, finger proximal to tip), capped at the fingertips. Every hand has the same
vertex count and triangles (`HAND_VERTICES`, `HAND_TRIANGLES`), so a crowd's hands go to the GPU as one
vertex buffer and one draw call (`hand_gl.py`); only positions and normals change between frames.

A participant that sends no hands gets relaxed ones (`relaxed_hands`): hanging beside its torso, in its
body frame (the head's position and yaw), for avatars with a body below the head; head-only avatars get
none. Pure numpy: no GL.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from emulator.model.hands import DIGITS, HandJoint, HandPose, HandSide, hand_pose
from emulator.model.pose import Pose, Quat, Vec3
from emulator.model.quat_array import cross, qmul, qrotate
from emulator.render.avatar import Avatar
from emulator.render.scene import DrawItem

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]

_SIDES = 6
# Bones drawn as tubes: (from joint, to joint). The thumb starts at its metacarpal; the fingers' metacarpals
# lie inside the palm slab, so their tubes start at the proximal joint.
_BONES: tuple[tuple[int, int], ...] = tuple(
    (int(a), int(b))
    for d, digit in enumerate(DIGITS)
    for a, b in zip(digit[(0 if d == 0 else 1) : -1], digit[(1 if d == 0 else 2) :], strict=True)
)
_TIPS = frozenset(int(digit[-1]) for digit in DIGITS)
_FINGER_BASES = tuple(int(digit[1]) for digit in DIGITS[1:])  # index … little proximal joints
_TUBE_VERTICES = 2 * _SIDES + 2  # two rings and two cap centres
_PALM_OUTLINE = 6  # wrist (thumb side), four finger bases, wrist (little side)
HAND_VERTICES = len(_BONES) * _TUBE_VERTICES + 2 * _PALM_OUTLINE
BODY_BELOW_EYES_M = 0.3  # an avatar reaching this far below its eyes has shoulders: relaxed hands show
DEFAULT_SKIN = (0.86, 0.7, 0.6)


def _tube_triangles(tip: bool) -> npt.NDArray[np.uint32]:
    """One bone's side, and a cap where it ends at a fingertip. Inner ends are left open: the next
    bone's tube or the palm covers them, and culling makes the rare glimpse inside see-through."""
    tris = []
    for k in range(_SIDES):
        a0, a1 = k, (k + 1) % _SIDES
        b0, b1 = a0 + _SIDES, a1 + _SIDES
        tris += [(a0, a1, b1), (a0, b1, b0)]
        if tip:
            tris.append((2 * _SIDES + 1, b0, b1))
    return np.asarray(tris, np.uint32)


def _palm_triangles() -> npt.NDArray[np.uint32]:
    n = _PALM_OUTLINE
    tris = []
    for k in range(1, n - 1):  # a fan on each face; the outline is convex enough for it
        tris += [(0, k, k + 1), (n, n + k + 1, n + k)]
    for k in range(n):  # the rim
        a, b = k, (k + 1) % n
        tris += [(a, n + a, n + b), (a, n + b, b)]
    return np.asarray(tris, np.uint32)


def _all_triangles() -> npt.NDArray[np.uint32]:
    parts = [_tube_triangles(b in _TIPS) + np.uint32(i * _TUBE_VERTICES) for i, (_, b) in enumerate(_BONES)]
    parts.append(_palm_triangles() + np.uint32(len(_BONES) * _TUBE_VERTICES))
    return np.concatenate(parts).astype(np.uint32)


# Every hand's triangles, indices into its HAND_VERTICES vertices, wound counter-clockwise seen from outside.
HAND_TRIANGLES: npt.NDArray[np.uint32] = _all_triangles()
HAND_TRIANGLES.setflags(write=False)
_ANGLES = np.linspace(0.0, 2.0 * math.pi, _SIDES, endpoint=False)
_COS, _SIN = np.cos(_ANGLES)[None, :, None], np.sin(_ANGLES)[None, :, None]
_X, _Y = np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])
_FINGER_BASES_INDEX = np.array(_FINGER_BASES)
_BONE_A = np.array([a for a, _ in _BONES])
_BONE_B = np.array([b for _, b in _BONES])


def hands_geometry(positions: F64, radii: F64, back: F64) -> F32:
    """(H, HAND_VERTICES, 6) positions and normals of H hands from their joints (H, 26, 3), radii (H, 26)
    and the direction the back of each hand faces (H, 3; the wrist's +y). All hands of a frame go
    through one call: a few dozen numpy operations whatever their number."""
    count = len(positions)
    out = np.empty((count, HAND_VERTICES, 6), np.float32)
    a, b = positions[:, _BONE_A], positions[:, _BONE_B]
    axis = b - a
    axis /= np.maximum(np.sqrt((axis * axis).sum(axis=-1)), 1e-9)[..., None]
    side = cross(axis, np.broadcast_to(back[:, None], axis.shape))
    length = np.sqrt((side * side).sum(axis=-1))
    weak = length < 1e-6  # a bone along the back direction: any perpendicular will do
    if weak.any():
        side = np.where(weak[..., None], cross(axis, np.broadcast_to(_X, axis.shape)), side)
        length = np.sqrt((side * side).sum(axis=-1))
    u = side / length[..., None]
    v = cross(axis, u)
    ring = _COS * u[..., None, :] + _SIN * v[..., None, :]  # (hands, bones, sides, 3)
    tubes = out[:, : len(_BONES) * _TUBE_VERTICES].reshape(count, len(_BONES), _TUBE_VERTICES, 6)
    # Tubes a little thinner than the joints' radii (which bound the flesh), tapering to the tip.
    tubes[..., :_SIDES, :3] = a[..., None, :] + ring * (radii[:, _BONE_A, None, None] * 0.8)
    tubes[..., _SIDES : 2 * _SIDES, :3] = b[..., None, :] + ring * (radii[:, _BONE_B, None, None] * 0.8)
    tubes[..., :_SIDES, 3:] = ring
    tubes[..., _SIDES : 2 * _SIDES, 3:] = ring
    tubes[..., 2 * _SIDES, :3], tubes[..., 2 * _SIDES + 1, :3] = a, b
    tubes[..., 2 * _SIDES, 3:], tubes[..., 2 * _SIDES + 1, 3:] = -axis, axis
    wrist = positions[:, HandJoint.WRIST]
    bases = positions[:, _FINGER_BASES_INDEX]
    reach = (bases[:, -1] - bases[:, 0]) * 0.36  # from the thumb side to the little finger's
    outline = np.concatenate([(wrist - reach)[:, None], bases, (wrist + reach)[:, None]], axis=1)
    turn = cross(outline[:, 1] - outline[:, 0], outline[:, 2] - outline[:, 0])
    # Counter-clockwise seen from the back, so the faces wind outwards on left and right hands alike.
    outline = np.where(((turn * back).sum(axis=-1) < 0)[:, None, None], outline[:, ::-1], outline)
    thickness = back[:, None] * (radii[:, HandJoint.PALM, None, None] * 0.45)
    palm = out[:, len(_BONES) * _TUBE_VERTICES :]
    palm[:, :_PALM_OUTLINE, :3], palm[:, _PALM_OUTLINE:, :3] = outline + thickness, outline - thickness
    # Normals lean outwards from the palm's middle, so its rim shades like the edge of a hand, not a card.
    outwards = outline - outline.mean(axis=1, keepdims=True)
    outwards *= 0.8 / np.maximum(np.sqrt((outwards * outwards).sum(axis=-1)), 1e-9)[..., None]
    normals = np.concatenate([outwards + back[:, None], outwards - back[:, None]], axis=1)
    palm[..., 3:] = normals / np.sqrt((normals * normals).sum(axis=-1))[..., None]
    return out


def hand_pose_geometry(hand: HandPose) -> F32:
    """(HAND_VERTICES, 6) positions and normals of one hand."""
    mesh: F32 = hands_poses_geometry([hand])[0]
    return mesh


def hands_poses_geometry(hands: Sequence[HandPose]) -> F32:
    positions = np.stack([h.positions for h in hands])
    wrists = np.stack([h.orientations[HandJoint.WRIST] for h in hands])
    return hands_geometry(positions, np.stack([h.radii for h in hands]), qrotate(wrists, _Y))


def has_body(avatar: Avatar) -> bool:
    """Whether the avatar reaches below its chin far enough to have shoulders to hang hands from."""
    return bool(avatar.vertex_count) and float(avatar.positions[:, 1].min()) < -BODY_BELOW_EYES_M


def skin_tone(avatar: Avatar) -> tuple[float, float, float]:
    """The colour of the cheeks (beside and under the eyes, facing forward), for hands to match."""
    p = avatar.positions
    cheeks = (np.abs(p[:, 0]) > 0.03) & (np.abs(p[:, 0]) < 0.065) & (p[:, 1] < -0.015) & (p[:, 1] > -0.06)
    cheeks &= avatar.normals[:, 2] < -0.5
    if cheeks.sum() < 3:
        return DEFAULT_SKIN
    r, g, b = np.median(avatar.colors[cheeks, :3], axis=0)
    return float(r), float(g), float(b)


@dataclass(frozen=True)
class HandStyle:
    """What an avatar's simple hands look like: their colour and, with a body, where they rest."""

    skin: tuple[float, float, float]
    rest: tuple[HandPose, HandPose] | None  # left, right in the avatar's own frame
    rest_geometry: tuple[F32, F32] | None  # their meshes, in the same frame: placed by one matrix product


def _rest_hands(avatar: Avatar) -> tuple[HandPose, HandPose]:
    """Relaxed hands in the avatar's own frame (origin between the eyes, facing -z): beside the lower
    torso, fingers down and a little curled, palms towards the body, thumbs forward."""
    p = avatar.positions
    bottom = float(p[:, 1].min())
    wrist_y = max(bottom + 0.1, -0.62)
    band = p[np.abs(p[:, 1] - (wrist_y + 0.1)) < 0.05]
    half_width = float(np.abs(band[:, 0]).max()) if len(band) else 0.18
    hands = {}
    for side, sign in ((HandSide.LEFT, -1.0), (HandSide.RIGHT, 1.0)):
        # Fingers (-z) turned to point down, then the back of the hand (+y) turned to face outwards.
        down = Quat.from_axis_angle(Vec3(1.0, 0.0, 0.0), -math.pi / 2)
        outwards = Quat.from_axis_angle(Vec3(0.0, 1.0, 0.0), -sign * math.pi / 2)
        wrist = Pose(Vec3(sign * (half_width + 0.025), wrist_y, -0.02), outwards * down)
        hands[side] = hand_pose(side, wrist, curl=0.35, thumb_curl=0.2)
    return hands[HandSide.LEFT], hands[HandSide.RIGHT]


_STYLES: dict[int, tuple[Avatar, HandStyle]] = {}


def hand_style(avatar: Avatar) -> HandStyle:
    """The avatar's hand style, worked out once per avatar (the renderer asks every frame)."""
    cached = _STYLES.get(id(avatar))
    if cached is None or cached[0] is not avatar:
        rest = _rest_hands(avatar) if has_body(avatar) else None
        meshes = None if rest is None else (hand_pose_geometry(rest[0]), hand_pose_geometry(rest[1]))
        cached = (avatar, HandStyle(skin_tone(avatar), rest, meshes))
        _STYLES[id(avatar)] = cached
        if len(_STYLES) > 64:  # avatars come and go: keep the cache from growing without end
            _STYLES.pop(next(iter(_STYLES)))
    return cached[1]


def relaxed_hands(avatar: Avatar, pose: Pose) -> tuple[HandPose, HandPose] | None:
    """The relaxed left and right hands of a participant whose head is at `pose`, in the room frame;
    None for an avatar without a body. The body turns with the head's yaw only: a nod or a tilt of the
    head does not swing the hands."""
    rest = hand_style(avatar).rest
    if rest is None:
        return None
    body = _body(pose)
    return _placed(rest[0], body), _placed(rest[1], body)


def _yaw(pose: Pose) -> float:
    """The heading of the head's forward (-z) axis about +y: 0 looking down -z."""
    x, y, z, w = pose.orientation.as_tuple()
    return math.atan2(2.0 * (x * z + w * y), 1.0 - 2.0 * (x * x + y * y))


def _body(pose: Pose) -> Pose:
    """The body's frame under a head: the head's position, turned by its yaw alone."""
    return Pose(pose.position, Quat.from_axis_angle(Vec3(0.0, 1.0, 0.0), _yaw(pose)))


Color = tuple[float, float, float]


def frame_hands(items: Sequence[DrawItem]) -> list[tuple[F32, Color, Color]]:
    """(mesh (HAND_VERTICES, 6), skin colour, tint) of every hand to draw this frame: the received ones,
    relaxed ones for a side a participant does not send, none for avatars that draw their own hands or
    have no body. Received hands are meshed together in one call; relaxed meshes are made once per
    avatar and only moved here."""
    slots: list[tuple[Color, Color]] = []
    received: list[tuple[int, HandPose]] = []
    relaxed: list[tuple[int, F32, Pose, float]] = []
    for item in items:
        avatar = item.avatar
        if avatar.draws_own_hands:
            continue
        style = hand_style(avatar)
        yaw = _yaw(item.pose) if style.rest_geometry is not None else 0.0
        for k, hand in enumerate((item.left_hand, item.right_hand)):
            if hand is not None:
                received.append((len(slots), hand))
            elif style.rest_geometry is not None:
                relaxed.append((len(slots), style.rest_geometry[k], item.pose, yaw))
            else:
                continue
            slots.append((style.skin, item.tint))
    meshes: list[F32 | None] = [None] * len(slots)
    if received:
        for (slot, _), mesh in zip(received, hands_poses_geometry([h for _, h in received]), strict=True):
            meshes[slot] = mesh
    if relaxed:
        # A turn about +y: x' = c x + s z, z' = c z - s x, for positions and normals alike.
        rest = np.stack([mesh for _, mesh, _, _ in relaxed])
        yaws = np.array([yaw for _, _, _, yaw in relaxed], np.float32)
        c, s = np.cos(yaws)[:, None, None], np.sin(yaws)[:, None, None]
        x, z = rest[..., 0::3], rest[..., 2::3]  # (hands, vertices, 2): position and normal columns
        moved = rest.copy()
        moved[..., 0::3] = c * x + s * z
        moved[..., 2::3] = c * z - s * x
        moved[..., :3] += np.array([pose.position.as_tuple() for _, _, pose, _ in relaxed], np.float32)[
            :, None
        ]
        for (slot, _, _, _), mesh in zip(relaxed, moved, strict=True):
            meshes[slot] = mesh
    return [(mesh, skin, tint) for mesh, (skin, tint) in zip(meshes, slots, strict=True) if mesh is not None]


def _placed(hand: HandPose, body: Pose) -> HandPose:
    q = np.asarray(body.orientation.as_tuple())
    positions = qrotate(q, hand.positions) + np.asarray(body.position.as_tuple())
    return HandPose(hand.side, positions, qmul(q, hand.orientations), hand.radii)
