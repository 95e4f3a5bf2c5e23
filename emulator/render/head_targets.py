"""The default avatar's 52 ARKit morph targets, computed from the rest head of `head_geometry`.

Each target is a (V, 3) array of displacements at weight 1, in the avatar frame (face toward -z, the
avatar's own left at -x). Regions are picked by part label and smooth falloffs around landmarks, so
a target moves only what the ARKit documentation says it moves: jawOpen swings the lower face about a
hinge near the ears, eyeBlinkLeft rolls the left lids shut, eyeLook* turn the eyeballs, and so on.
Rotations are stored as their displacement at weight 1; small angles keep the chord error small.
"""

from __future__ import annotations

import math

import numpy as np

from emulator.model.face import ARKIT_NAMES
from emulator.render.head_geometry import (
    BROW_LEFT,
    BROW_RIGHT,
    EYE_LEFT,
    EYE_RIGHT,
    EYE_X,
    F64,
    LID_BOTTOM_DEG,
    LID_LEFT,
    LID_RIGHT,
    LID_TOP_DEG,
    LOWER_LID_OPEN_DEG,
    MOUTH,
    MOUTH_HALF_WIDTH,
    MOUTH_Y,
    SKIN,
    SKULL_CENTRE,
    TEETH_LOWER,
    TONGUE,
    UPPER_LID_OPEN_DEG,
    HeadParts,
    lid_point,
    lip_weight,
)

LEFT, RIGHT = -1.0, 1.0  # the sign of x on the avatar's own side


def _smooth(edge0: float | F64, edge1: float | F64, x: F64) -> F64:
    t = np.clip((x - edge0) / (edge1 - edge0), 0.0, 1.0)
    return np.asarray(t * t * (3.0 - 2.0 * t))


def _gauss(p: F64, centre: tuple[float, float, float], sigma: tuple[float, float, float]) -> F64:
    d = (p - np.asarray(centre)) / np.asarray(sigma)
    return np.asarray(np.exp(-0.5 * np.sum(d * d, axis=-1)))


def _rotation(axis: str, angle: float) -> F64:
    c, s = math.cos(angle), math.sin(angle)
    if axis == "x":
        return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


class _Targets:
    def __init__(self, head: HeadParts) -> None:
        self.h = head
        self.p = head.positions
        self.n = len(self.p)
        skin = head.part == SKIN
        front = _smooth(0.0, -0.03, self.p[:, 2])
        self.skin_front = skin * front
        self.lips = lip_weight(self.p) * skin
        self.upper_lip = self.lips * ~head.lower
        self.lower_lip = self.lips * head.lower
        self.jaw = self._jaw_weight()

    def zero(self) -> F64:
        return np.zeros((self.n, 3))

    def _jaw_weight(self) -> F64:
        p, h = self.p, self.h
        ax = np.abs(p[:, 0])
        half = 0.003 + 0.02 * _smooth(0.6 * MOUTH_HALF_WIDTH, 1.4 * MOUTH_HALF_WIDTH, ax)
        # The upper lip stays (weight ~0 on the lip line); below it the jaw takes over within `half`.
        w = _smooth(MOUTH_Y + 0.2 * half, MOUTH_Y - half, p[:, 1])
        w = np.where(h.lower, 1.0, w) * (h.part == SKIN)
        w *= _smooth(SKULL_CENTRE[2] + 0.035, SKULL_CENTRE[2] - 0.01, p[:, 2])  # not the back of the head
        w = np.maximum(w, (h.part == TEETH_LOWER) * 1.0)
        w = np.maximum(w, (h.part == TONGUE) * 0.85)
        w = np.maximum(w, (h.part == MOUTH) * _smooth(MOUTH_Y + 0.004, MOUTH_Y - 0.012, p[:, 1]))
        return np.asarray(w)

    def rotate(self, weights: F64, axis: str, angle: float, pivot: tuple[float, float, float]) -> F64:
        rel = self.p - np.asarray(pivot)
        moved = rel @ _rotation(axis, angle).T
        return np.asarray((moved - rel) * weights[:, None])

    def move(self, weights: F64, dx: float, dy: float, dz: float) -> F64:
        return np.asarray(weights[:, None] * np.array([dx, dy, dz]))

    def side(self, sign: float) -> F64:
        """Soft mask of one side of the face; the middle line gets half."""
        return _smooth(-0.006, 0.006, sign * self.p[:, 0])

    def corner(self, sign: float, sigma: float = 0.011) -> F64:
        centre = (sign * MOUTH_HALF_WIDTH, MOUTH_Y, -0.045)
        return np.asarray(_gauss(self.p, centre, (sigma, sigma, 0.05)) * self.skin_front)

    # --- eyes -----------------------------------------------------------------------------------
    def lids(self, lid_part: int, upper_edge: float, lower_edge: float) -> F64:
        """Move one eye's lid edges to new pitch angles (degrees); the fixed rows stay put."""
        h = self.h
        mask = h.part == lid_part
        centre = h.eye_centres[lid_part]
        out = self.zero()
        for upper, edge, rest, fixed in (
            (True, upper_edge, UPPER_LID_OPEN_DEG, LID_TOP_DEG),
            (False, lower_edge, LOWER_LID_OPEN_DEG, LID_BOTTOM_DEG),
        ):
            sel = mask & (h.lid_upper == upper)
            t, yaw = h.lid_t[sel], h.lid_yaw[sel]
            before = lid_point(centre, np.radians(rest + t * (fixed - rest)), yaw)
            after = lid_point(centre, np.radians(edge + t * (fixed - edge)), yaw)
            out[sel] = after - before
        return out

    def eye_turn(self, eye_part: int, axis: str, degrees: float) -> F64:
        mask = (self.h.part == eye_part).astype(np.float64)
        centre = self.h.eye_centres[eye_part]
        return self.rotate(mask, axis, math.radians(degrees), tuple(centre))

    def brow(self, sign: float, inner: float, outer: float, inward: float = 0.0) -> F64:
        """Raise (positive) or lower a brow's inner and outer ends, dragging the skin above the eye."""
        part = BROW_LEFT if sign == LEFT else BROW_RIGHT
        p = self.p
        u = np.clip((np.abs(p[:, 0]) - 0.011) / 0.042, 0.0, 1.0)
        lift = inner * (1 - u) + outer * u
        brow = (self.h.part == part) * 1.0
        skin = (
            self.skin_front * _gauss(p, (sign * 0.032, 0.024, -0.05), (0.024, 0.014, 0.05)) * self.side(sign)
        )
        out = self.move(brow + 0.6 * skin, 0.0, 1.0, 0.0) * lift[:, None]
        out[:, 0] += -sign * inward * (brow + 0.6 * skin)
        return out


def _build(head: HeadParts) -> dict[str, F64]:
    t = _Targets(head)
    jaw_pivot = (0.0, MOUTH_Y + 0.012, SKULL_CENTRE[2] + 0.015)
    lid = {LEFT: LID_LEFT, RIGHT: LID_RIGHT}
    eye = {LEFT: EYE_LEFT, RIGHT: EYE_RIGHT}
    up_lid, low_lid = UPPER_LID_OPEN_DEG, LOWER_LID_OPEN_DEG

    def mouth_region() -> F64:
        return np.asarray(_gauss(t.p, (0.0, MOUTH_Y, -0.05), (0.028, 0.016, 0.05)) * t.skin_front)

    def cheek(sign: float) -> F64:
        return np.asarray(
            _gauss(t.p, (sign * 0.045, MOUTH_Y + 0.012, -0.03), (0.016, 0.016, 0.03)) * (t.h.part == SKIN)
        )

    def under_eye(sign: float) -> F64:
        return np.asarray(_gauss(t.p, (sign * EYE_X, -0.022, -0.05), (0.016, 0.009, 0.05)) * t.skin_front)

    def tongue_out() -> F64:
        tip = _smooth(head.mouth_z + 0.04, head.mouth_z + 0.005, t.p[:, 2]) * (t.h.part == TONGUE)
        mid = 1.0 - np.clip(np.abs(t.p[:, 0]) / MOUTH_HALF_WIDTH, 0, 1)
        return (
            t.move(tip, 0.0, -0.007, -0.03)
            + t.move(t.lower_lip * mid, 0, -0.008, 0)
            + t.move(t.upper_lip * mid, 0, 0.003, 0)
        )

    targets: dict[str, F64] = {}
    for sign, suffix in ((LEFT, "Left"), (RIGHT, "Right")):
        s = sign
        targets[f"eyeBlink{suffix}"] = t.lids(lid[s], -24.0, -20.0)
        targets[f"eyeSquint{suffix}"] = t.lids(lid[s], up_lid - 6, -22.0) + t.move(under_eye(s), 0, 0.003, 0)
        targets[f"eyeWide{suffix}"] = t.lids(lid[s], 62.0, low_lid - 8)
        # Turning the eye: "out" is toward the avatar's own side, "in" toward the nose.
        targets[f"eyeLookOut{suffix}"] = t.eye_turn(eye[s], "y", -30.0 * s)
        targets[f"eyeLookIn{suffix}"] = t.eye_turn(eye[s], "y", 30.0 * s)
        targets[f"eyeLookUp{suffix}"] = t.eye_turn(eye[s], "x", 22.0) + t.lids(lid[s], up_lid + 10, low_lid)
        targets[f"eyeLookDown{suffix}"] = t.eye_turn(eye[s], "x", -25.0) + t.lids(
            lid[s], up_lid - 18, low_lid
        )
        targets[f"mouthSmile{suffix}"] = t.move(t.corner(s), 0.006 * s, 0.01, 0.004) + t.move(
            cheek(s), 0, 0.004, -0.002
        )
        targets[f"mouthFrown{suffix}"] = t.move(t.corner(s), 0.001 * s, -0.009, 0.0)
        targets[f"mouthDimple{suffix}"] = t.move(t.corner(s), 0.004 * s, 0.001, 0.006)
        targets[f"mouthStretch{suffix}"] = t.move(t.corner(s, 0.014), 0.009 * s, -0.004, 0.002)
        targets[f"mouthPress{suffix}"] = t.move(t.upper_lip * t.side(s), 0, -0.002, 0.002) + t.move(
            t.lower_lip * t.side(s), 0, 0.003, 0.002
        )
        targets[f"mouthLowerDown{suffix}"] = t.move(t.lower_lip * t.side(s), 0, -0.008, 0.0)
        targets[f"mouthUpperUp{suffix}"] = t.move(t.upper_lip * t.side(s), 0, 0.007, 0.0)
        targets[f"browDown{suffix}"] = t.brow(s, -0.007, -0.004, inward=0.003)
        targets[f"browOuterUp{suffix}"] = t.brow(s, 0.0, 0.009)
        targets[f"cheekSquint{suffix}"] = t.move(under_eye(s), 0, 0.005, -0.001) + t.lids(
            lid[s], up_lid, low_lid + 10
        )
        # The side of the nose and the cheek beside it wrinkle upward.
        targets[f"noseSneer{suffix}"] = t.move(
            _gauss(t.p, (s * 0.012, -0.022, -0.06), (0.009, 0.011, 0.03)) * t.skin_front, 0.0005 * s, 0.005, 0
        )
    targets["jawOpen"] = t.rotate(t.jaw, "x", math.radians(-17.0), jaw_pivot)
    targets["jawForward"] = t.move(t.jaw, 0.0, 0.0, -0.008)
    targets["jawLeft"] = t.move(t.jaw, -0.01, 0.0, 0.0)
    targets["jawRight"] = t.move(t.jaw, 0.01, 0.0, 0.0)
    targets["mouthClose"] = t.move(t.lower_lip, 0, 0.013, 0) + t.move(t.upper_lip, 0, -0.006, 0)
    targets["mouthFunnel"] = (
        t.move(t.lips, 0, 0, -0.008)
        + t.move(t.upper_lip, 0, 0.004, 0)
        + t.move(t.lower_lip, 0, -0.006, 0)
        + t.move(t.corner(LEFT), 0.007, 0, 0)
        + t.move(t.corner(RIGHT), -0.007, 0, 0)
    )
    targets["mouthPucker"] = (
        t.move(t.lips, 0, 0, -0.01)
        + t.move(t.corner(LEFT), 0.011, 0, 0)
        + t.move(t.corner(RIGHT), -0.011, 0, 0)
    )
    targets["mouthLeft"] = t.move(mouth_region(), -0.011, 0, 0)
    targets["mouthRight"] = t.move(mouth_region(), 0.011, 0, 0)
    targets["mouthRollLower"] = t.move(t.lower_lip, 0, 0.003, 0.006)
    targets["mouthRollUpper"] = t.move(t.upper_lip, 0, -0.003, 0.006)
    chin = _gauss(t.p, (0.0, MOUTH_Y - 0.022, -0.05), (0.02, 0.014, 0.05)) * t.skin_front
    targets["mouthShrugLower"] = t.move(np.maximum(t.lower_lip, chin), 0, 0.006, -0.002)
    targets["mouthShrugUpper"] = t.move(t.upper_lip, 0, 0.005, -0.001)
    targets["browInnerUp"] = t.brow(LEFT, 0.009, 0.0) + t.brow(RIGHT, 0.009, 0.0)
    targets["cheekPuff"] = t.move(cheek(LEFT), -0.011, 0, -0.004) + t.move(cheek(RIGHT), 0.011, 0, -0.004)
    targets["tongueOut"] = tongue_out()
    return targets


def build_targets(head: HeadParts) -> dict[str, np.ndarray]:
    """All 52 targets by ARKit name, in Apple's order, as float32 (V, 3) displacements."""
    builders = _build(head)
    missing = [n for n in ARKIT_NAMES if n not in builders]
    assert not missing, missing
    return {name: builders[name].astype(np.float32) for name in ARKIT_NAMES}
