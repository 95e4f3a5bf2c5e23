"""Skeletons of skinned glTF avatars: bones, rest transforms and per-vertex skin weights.

Every node of the default scene is a bone (parents before children), with its rest transform in the
avatar frame (avatar.py). A vertex follows up to four *slots*: a slot is one joint of one glTF skin,
with that skin's inverse bind matrix, or (for a mesh that is not skinned but hangs under a joint, like
glasses under `Head`) its own node with weight 1. A slot's skin matrix is `posed[bone] @ rest[bone]^-1
@ slot_rest`, where `slot_rest = rest[bone] @ inverse_bind` (the identity when the file's node rest pose
is its bind pose, as exporters write it).

Humanoid bones (head, neck, arms, fingers) are found by name: Mixamo / Ready Player Me names
(`Hips`, `Spine1`, `LeftForeArm`, `LeftHandIndex1`, with or without a `mixamorig:` prefix) and VRM's
lowerCamel names (`hips`, `upperChest`, `leftLowerArm`, `leftIndexProximal`). A VRM file's own
humanoid map replaces the guess with `Skeleton.with_humanoid`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt
import pygltflib

from emulator.render.errors import AvatarError
from emulator.render.gltf_read import AccessorReader

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
I32 = npt.NDArray[np.int32]

_MAX_SLOTS = 4096  # joints over all skins; RPM and VRM avatars have 60-200, slots are stored as uint16
_SIDES = (("left", "Left"), ("right", "Right"))
_DIGITS = (
    ("Thumb", ("Metacarpal", "Proximal", "Distal")),
    *((digit, ("Proximal", "Intermediate", "Distal")) for digit in ("Index", "Middle", "Ring", "Little")),
)
_MIXAMO_DIGIT = {"Thumb": "Thumb", "Index": "Index", "Middle": "Middle", "Ring": "Ring", "Little": "Pinky"}


def _humanoid_names() -> dict[str, tuple[str, ...]]:
    """VRM 1.0 humanoid bone name -> the names it goes by in files (Mixamo / RPM and VRM-style)."""
    names: dict[str, tuple[str, ...]] = {
        "hips": ("Hips",),
        "spine": ("Spine",),
        "chest": ("Spine1", "Chest"),
        "upperChest": ("Spine2", "UpperChest"),
        "neck": ("Neck",),
        "head": ("Head",),
    }
    for lower, upper in _SIDES:
        names[f"{lower}Shoulder"] = (f"{upper}Shoulder",)
        names[f"{lower}UpperArm"] = (f"{upper}Arm", f"{upper}UpperArm")
        names[f"{lower}LowerArm"] = (f"{upper}ForeArm", f"{upper}LowerArm")
        names[f"{lower}Hand"] = (f"{upper}Hand",)
        for digit, parts in _DIGITS:
            for k, part in enumerate(parts):
                names[f"{lower}{digit}{part}"] = (f"{upper}Hand{_MIXAMO_DIGIT[digit]}{k + 1}",)
    return {key: (key, *aliases) for key, aliases in names.items()}


HUMANOID_NAMES = _humanoid_names()


def _key(name: str) -> str:
    name = re.sub(r"^mixamorig\d*[:_]?", "", name, flags=re.IGNORECASE)
    return re.sub(r"[^a-z0-9]", "", name.lower())


_BY_KEY = {_key(alias): bone for bone, aliases in HUMANOID_NAMES.items() for alias in aliases}


@dataclass(frozen=True)
class Skeleton:
    """Bones in the avatar frame and the skin slots vertices follow. Shared by all who wear the avatar."""

    names: tuple[str, ...]  # one per bone
    nodes: tuple[int, ...]  # each bone's glTF node index
    parents: I32  # (B,) parent bone, -1 for a root
    rest: F64  # (B, 4, 4) avatar-from-bone at rest
    slot_bones: I32  # (S,) the bone each slot follows
    slot_rest: F64  # (S, 4, 4) rest[bone] @ inverse bind, in the avatar frame
    humanoid: Mapping[str, int]  # VRM humanoid bone name -> bone index

    def bone(self, humanoid_name: str) -> int | None:
        return self.humanoid.get(humanoid_name)

    def with_humanoid(self, node_of: Mapping[str, int]) -> Skeleton:
        """The same skeleton with bones found by a humanoid map (VRM's: bone name -> node index)."""
        bone_of_node = {node: b for b, node in enumerate(self.nodes)}
        found = {name: bone_of_node[node] for name, node in node_of.items() if node in bone_of_node}
        return replace(self, humanoid=found)

    def children(self, bone: int) -> list[int]:
        return self._children.get(bone, [])

    @cached_property
    def _children(self) -> dict[int, list[int]]:
        out: dict[int, list[int]] = {}
        for b, p in enumerate(self.parents.tolist()):
            out.setdefault(p, []).append(b)
        return out


def guess_humanoid(names: Sequence[str]) -> dict[str, int]:
    """Humanoid bone name -> bone index, from node names; the first node of a name wins."""
    found: dict[str, int] = {}
    for index, name in enumerate(names):
        bone = _BY_KEY.get(_key(name))
        if bone is not None:
            found.setdefault(bone, index)
    return found


class SkinBuilder:
    """Collects slots and per-vertex (slot, weight) sets while avatar.py merges primitives."""

    def __init__(
        self,
        gltf: pygltflib.GLTF2,
        reader: AccessorReader,
        walk: Sequence[tuple[int, F64]],
    ) -> None:
        self._gltf, self._reader = gltf, reader
        self._bone_of_node = {node: b for b, (node, _) in enumerate(walk)}
        self._walk = walk
        self._slots: dict[tuple[int, int], int] = {}  # (skin or -1, joint node) -> slot
        self._slot_rest: list[F64] = []
        self._slot_bones: list[int] = []
        self.joints: list[npt.NDArray[np.uint16]] = []
        self.weights: list[F32] = []

    def _slot(self, skin: int, node: int, inverse_bind: F64 | None) -> int:
        key = (skin, node)
        if key not in self._slots:
            bone = self._bone_of_node.get(node)
            if bone is None:
                raise AvatarError(f"{self._reader.source}: skin {skin} uses node {node}, not in the scene")
            # In the glTF frame until `skeleton` knows the avatar frame (it needs the eyes).
            # A rigid slot (skin -1): its vertices are baked where the node is, so rest @ bind is I.
            rest = self._walk[bone][1]
            self._slots[key] = len(self._slot_rest)
            self._slot_rest.append(
                np.eye(4) if skin < 0 else rest @ (np.eye(4) if inverse_bind is None else inverse_bind)
            )
            self._slot_bones.append(bone)
        return self._slots[key]

    def add(self, node_index: int, attributes: Any, count: int) -> None:
        """Skin data of a primitive of `count` vertices on node `node_index` (skinned or not)."""
        node = (self._gltf.nodes or [])[node_index]
        joints_at = _get(attributes, "JOINTS_0")
        weights_at = _get(attributes, "WEIGHTS_0")
        if node.skin is None or joints_at is None or weights_at is None:
            slot = self._slot(-1, node_index, None)
            self.joints.append(np.full((count, 4), slot, np.uint16))
            self.weights.append(np.tile(np.array([1, 0, 0, 0], np.float32), (count, 1)))
            return
        skins, source = self._gltf.skins or [], self._reader.source
        if not isinstance(node.skin, int) or not 0 <= node.skin < len(skins):
            raise AvatarError(f"{source}: node {node_index} uses skin {node.skin}, which does not exist")
        skin = skins[node.skin]
        joint_nodes = list(skin.joints or [])
        if skin.inverseBindMatrices is not None:
            ibm = self._reader.read(skin.inverseBindMatrices).reshape(-1, 4, 4).transpose(0, 2, 1)
            if len(ibm) != len(joint_nodes):
                raise AvatarError(f"{self._reader.source}: skin {node.skin} has {len(ibm)} inverse binds "
                                  f"for {len(joint_nodes)} joints")  # fmt: skip
        else:
            ibm = np.tile(np.eye(4), (len(joint_nodes), 1, 1))
        joints = self._reader.read(joints_at, as_float=False).astype(np.int64)
        weights = self._reader.read(weights_at).astype(np.float32)  # normalized integers come as 0..1
        if joints.shape != (count, 4) or weights.shape != (count, 4):
            raise AvatarError(f"{source}: JOINTS_0/WEIGHTS_0 of node {node_index} have the wrong size")
        if joints.size and (joints.min() < 0 or joints.max() >= len(joint_nodes)):
            raise AvatarError(f"{source}: JOINTS_0 of node {node_index} names a joint its skin lacks")
        slots = [
            self._slot(node.skin, int(n), np.asarray(ibm[j], np.float64)) for j, n in enumerate(joint_nodes)
        ]
        if len(self._slot_rest) > _MAX_SLOTS:
            raise AvatarError(f"{source}: more than {_MAX_SLOTS} skin joints in all")
        slot_of = np.array(slots, np.uint16)
        weights = np.clip(np.nan_to_num(weights), 0.0, None)
        total = weights.sum(axis=1, keepdims=True)
        # A vertex with no weight at all stays on the first joint rather than vanishing to the origin.
        first = np.array([1, 0, 0, 0], np.float32)
        weights = np.where(total > 1e-6, weights / np.maximum(total, 1e-6), first)
        self.joints.append(slot_of[joints])
        self.weights.append(weights.astype(np.float32))

    def skeleton(self, to_avatar: F64) -> Skeleton:
        """The skeleton in the avatar frame; `to_avatar` maps the glTF frame onto it."""
        from_avatar = np.linalg.inv(to_avatar)
        nodes = self._gltf.nodes or []
        walk_nodes = [node for node, _ in self._walk]
        parent_of: dict[int, int] = {}
        for b, node in enumerate(walk_nodes):
            for child in nodes[node].children or []:
                if child in self._bone_of_node:
                    parent_of[self._bone_of_node[child]] = b
        names = tuple(nodes[n].name or f"node{n}" for n in walk_nodes)
        return Skeleton(
            names=names,
            nodes=tuple(walk_nodes),
            parents=np.array([parent_of.get(b, -1) for b in range(len(walk_nodes))], np.int32),
            rest=np.stack([to_avatar @ world for _, world in self._walk]),
            slot_bones=np.array(self._slot_bones, np.int32),
            slot_rest=np.stack([to_avatar @ m @ from_avatar for m in self._slot_rest])
            if self._slot_rest
            else np.zeros((0, 4, 4)),
            humanoid=guess_humanoid(names),
        )


def _get(holder: Any, key: str) -> Any:
    if isinstance(holder, dict):
        return holder.get(key)
    return getattr(holder, key, None)


def has_skins(gltf: pygltflib.GLTF2) -> bool:
    return any(node.skin is not None for node in gltf.nodes or [])
