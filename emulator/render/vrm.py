"""VRM avatars (.vrm): the humanoid bone map, expressions, facing and VRM 0.x's MToon colours.

VRM 1.0 keeps these in the `VRMC_vrm` extension and faces +z, as glTF does; VRM 0.x keeps them in
`VRM` and faces -z (three-vrm's `rotateVRM0` turns it for the same reason). Both are read into one
`VrmInfo` in VRM 1.0's terms: 0.x bone and preset names are translated (`A` → aa, `Blink_L` →
blinkLeft, `Joy` → happy, its thumb bones shifted one joint), 0.x bind weights (0-100) scaled to 0-1.

Expressions reach the ARKit/viseme path of faces.py as synthesised morph targets named by the ARKit
or viseme name that drives them (`ARKIT_TO_VRM`): `jawOpen` and `viseme_aa` drive aa, `eyeBlinkLeft`
drives blinkLeft (or the avatar's left half of blink when it has no blinkLeft). An avatar that also
carries ARKit-named targets ("Perfect Sync") keeps its own: those come first and win in map_targets.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeGuard

import numpy as np
import numpy.typing as npt
import pygltflib

log = logging.getLogger(__name__)
F32 = npt.NDArray[np.float32]

_SIDES = ("left", "right")
_FINGERS = ("Index", "Middle", "Ring", "Little")
HUMAN_BONES: frozenset[str] = frozenset(
    {"hips", "spine", "chest", "upperChest", "neck", "head", "jaw"}
    | {f"{s}{p}" for s in _SIDES for p in ("Eye", "UpperLeg", "LowerLeg", "Foot", "Toes")}
    | {f"{s}{p}" for s in _SIDES for p in ("Shoulder", "UpperArm", "LowerArm", "Hand")}
    | {f"{s}Thumb{j}" for s in _SIDES for j in ("Metacarpal", "Proximal", "Distal")}
    | {f"{s}{f}{j}" for s in _SIDES for f in _FINGERS for j in ("Proximal", "Intermediate", "Distal")}
)
_THUMB_0X = {"Proximal": "Metacarpal", "Intermediate": "Proximal", "Distal": "Distal"}

EXPRESSIONS = (
    "aa", "ih", "ou", "ee", "oh", "blink", "blinkLeft", "blinkRight", "happy", "angry", "sad",
    "relaxed", "surprised", "lookUp", "lookDown", "lookLeft", "lookRight", "neutral",
)  # fmt: skip
_PRESETS_0X = {
    "a": "aa", "i": "ih", "u": "ou", "e": "ee", "o": "oh", "blink": "blink", "blink_l": "blinkLeft",
    "blink_r": "blinkRight", "joy": "happy", "angry": "angry", "sorrow": "sad", "fun": "relaxed",
    "lookup": "lookUp", "lookdown": "lookDown", "lookleft": "lookLeft", "lookright": "lookRight",
    "neutral": "neutral",
}  # fmt: skip

# ARKit or viseme name -> the VRM expressions it drives, with weights. Paired left/right ARKit
# shapes drive a whole-face expression half each, so both at 1 give the expression at 1.
ARKIT_TO_VRM: dict[str, tuple[tuple[str, float], ...]] = {
    "jawOpen": (("aa", 1.0),),
    "mouthFunnel": (("oh", 1.0),),
    "mouthPucker": (("ou", 1.0),),
    "mouthStretchLeft": (("ee", 0.5),),
    "mouthStretchRight": (("ee", 0.5),),
    "eyeBlinkLeft": (("blinkLeft", 1.0),),
    "eyeBlinkRight": (("blinkRight", 1.0),),
    "mouthSmileLeft": (("happy", 0.5),),
    "mouthSmileRight": (("happy", 0.5),),
    "browDownLeft": (("angry", 0.5),),
    "browDownRight": (("angry", 0.5),),
    "mouthFrownLeft": (("sad", 0.5),),
    "mouthFrownRight": (("sad", 0.5),),
    "eyeSquintLeft": (("relaxed", 0.5),),
    "eyeSquintRight": (("relaxed", 0.5),),
    "eyeWideLeft": (("surprised", 0.5),),
    "eyeWideRight": (("surprised", 0.5),),
    "eyeLookUpLeft": (("lookUp", 0.5),),
    "eyeLookUpRight": (("lookUp", 0.5),),
    "eyeLookDownLeft": (("lookDown", 0.5),),
    "eyeLookDownRight": (("lookDown", 0.5),),
    "eyeLookOutLeft": (("lookLeft", 0.5),),  # the avatar's own left: its left eye looks out
    "eyeLookInRight": (("lookLeft", 0.5),),
    "eyeLookInLeft": (("lookRight", 0.5),),
    "eyeLookOutRight": (("lookRight", 0.5),),
    "viseme_aa": (("aa", 1.0),),
    "viseme_I": (("ih", 1.0),),
    "viseme_U": (("ou", 1.0),),
    "viseme_E": (("ee", 1.0),),
    "viseme_O": (("oh", 1.0),),
    "viseme_CH": (("ih", 0.5), ("ou", 0.3)),
    "viseme_SS": (("ih", 0.6),),
    "viseme_DD": (("aa", 0.3), ("ih", 0.3)),
    "viseme_kk": (("aa", 0.4), ("ih", 0.3)),
    "viseme_nn": (("aa", 0.2), ("ih", 0.3)),
    "viseme_TH": (("aa", 0.4),),
    "viseme_RR": (("ou", 0.5),),
    "viseme_FF": (("ih", 0.3), ("ou", 0.2)),
}
VRM_TO_ARKIT: dict[str, tuple[str, ...]] = {
    expression: tuple(name for name, sources in ARKIT_TO_VRM.items() if expression in dict(sources))
    for expression in EXPRESSIONS
}
SYNTHESISED_PREFIX = "vrm."  # faces.strip_prefix drops it: "vrm.jawOpen" maps to jawOpen


@dataclass(frozen=True)
class VrmInfo:
    version: Literal["0.x", "1.0"]
    humanoid: Mapping[str, int]  # VRM 1.0 humanoid bone name -> node index
    expressions: Mapping[str, tuple[tuple[int, int, float], ...]]  # name -> (mesh, morph target, weight)

    @property
    def faces_plus_z(self) -> bool:
        """VRM 1.0 faces +z (glTF's front); VRM 0.x faces -z."""
        return self.version == "1.0"


def _int(value: Any, limit: int) -> int | None:
    ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value < limit
    return value if ok else None


def _weight(value: Any, scale: float) -> float:
    return min(1.0, max(0.0, float(value) / scale)) if isinstance(value, (int, float)) else 1.0


def _bones_1(humanoid: Any, nodes: int) -> dict[str, int]:
    bones = humanoid.get("humanBones") if isinstance(humanoid, dict) else None
    out: dict[str, int] = {}
    for name, entry in (bones or {}).items() if isinstance(bones, dict) else ():
        node = _int(entry.get("node"), nodes) if isinstance(entry, dict) else None
        if name in HUMAN_BONES and node is not None:
            out[name] = node
    return out


def _bone_0x(name: str) -> str:
    for side in _SIDES:
        for joint, new in _THUMB_0X.items():
            if name == f"{side}Thumb{joint}":
                return f"{side}Thumb{new}"
    return name


def _bones_0(humanoid: Any, nodes: int) -> dict[str, int]:
    bones = humanoid.get("humanBones") if isinstance(humanoid, dict) else None
    out: dict[str, int] = {}
    for entry in bones if isinstance(bones, list) else ():
        if not isinstance(entry, dict) or not isinstance(entry.get("bone"), str):
            continue
        name, node = _bone_0x(entry["bone"]), _int(entry.get("node"), nodes)
        if name in HUMAN_BONES and node is not None:
            out[name] = node
    return out


def _expressions_1(
    ext: dict[str, Any], node_mesh: list[int | None]
) -> dict[str, list[tuple[int, int, float]]]:
    table = ext.get("expressions")
    out: dict[str, list[tuple[int, int, float]]] = {}
    for group in ("preset", "custom"):
        entries = table.get(group) if isinstance(table, dict) else None
        for name, body in entries.items() if isinstance(entries, dict) else ():
            binds = body.get("morphTargetBinds") if isinstance(body, dict) else None
            for bind in binds if isinstance(binds, list) else ():
                node = _int(bind.get("node"), len(node_mesh)) if isinstance(bind, dict) else None
                mesh = node_mesh[node] if node is not None else None
                index = _int(bind.get("index"), 1 << 16) if isinstance(bind, dict) else None
                if mesh is not None and index is not None and isinstance(name, str):
                    out.setdefault(name, []).append((mesh, index, _weight(bind.get("weight"), 1.0)))
    return out


def _expressions_0(ext: dict[str, Any], meshes: int) -> dict[str, list[tuple[int, int, float]]]:
    master = ext.get("blendShapeMaster")
    groups = master.get("blendShapeGroups") if isinstance(master, dict) else None
    out: dict[str, list[tuple[int, int, float]]] = {}
    lower = {e.lower(): e for e in EXPRESSIONS}
    for group in groups if isinstance(groups, list) else ():
        if not isinstance(group, dict):
            continue
        preset, label = str(group.get("presetName", "")).lower(), str(group.get("name", ""))
        name = _PRESETS_0X.get(preset) or lower.get(label.lower()) or label
        binds = group.get("binds")
        for bind in binds if isinstance(binds, list) else ():
            mesh = _int(bind.get("mesh"), meshes) if isinstance(bind, dict) else None
            index = _int(bind.get("index"), 1 << 16) if isinstance(bind, dict) else None
            if name and mesh is not None and index is not None:
                out.setdefault(name, []).append((mesh, index, _weight(bind.get("weight"), 100.0)))
    return out


def read_vrm(gltf: Any) -> VrmInfo | None:
    """The VRM description of a glTF document, or None for a plain glTF. Bad entries are skipped."""
    extensions = gltf.extensions if isinstance(gltf.extensions, dict) else {}
    nodes = gltf.nodes or []
    if isinstance(extensions.get("VRMC_vrm"), dict):
        ext = extensions["VRMC_vrm"]
        node_mesh = [n.mesh if isinstance(n.mesh, int) else None for n in nodes]
        bones, expressions = _bones_1(ext.get("humanoid"), len(nodes)), _expressions_1(ext, node_mesh)
        version: Literal["0.x", "1.0"] = "1.0"
    elif isinstance(extensions.get("VRM"), dict):
        ext = extensions["VRM"]
        bones = _bones_0(ext.get("humanoid"), len(nodes))
        expressions = _expressions_0(ext, len(gltf.meshes or []))
        version = "0.x"
    else:
        return None
    return VrmInfo(version, bones, {k: tuple(v) for k, v in expressions.items()})


def synthesise_targets(
    info: VrmInfo,
    morphs: Mapping[tuple[int, int], F32],
    positions: F32,
    centre_x: float,
) -> dict[str, F32]:
    """ARKit/viseme-named targets (prefixed `vrm.`) made from the expressions, in the file's frame.

    `morphs` holds each (mesh, morph target) as a full (V, 3) delta array; `positions` the merged
    vertices, `centre_x` the x of the point between the eyes (for splitting blink by side).
    """
    needed = {e for sources in ARKIT_TO_VRM.values() for e, _ in sources} | {"blink"}
    expression: dict[str, F32] = {}
    for name, binds in info.expressions.items():
        if name not in needed:  # custom expressions have no ARKit name to follow
            continue
        found = [(morphs[(m, i)], w) for m, i, w in binds if (m, i) in morphs]
        if found:
            expression[name] = sum((d * np.float32(w) for d, w in found), np.zeros_like(positions))
    left_sign = 1.0 if info.faces_plus_z else -1.0  # the avatar's own left is +x when it faces +z
    left = (positions[:, 0] - centre_x) * left_sign > 0
    for side, mask in (("blinkLeft", left), ("blinkRight", ~left)):
        if side not in expression and "blink" in expression:
            expression[side] = expression["blink"] * mask[:, None].astype(np.float32)
    out: dict[str, F32] = {}
    for target, sources in ARKIT_TO_VRM.items():
        used = [(expression[e], w) for e, w in sources if e in expression]
        if used:
            out[SYNTHESISED_PREFIX + target] = sum(
                (d * np.float32(w) for d, w in used), np.zeros_like(positions)
            ).astype(np.float32)
    missing = [e for e in ("aa", "blinkLeft", "blinkRight") if e not in expression]
    if missing:
        log.info("VRM %s avatar has no morph targets for %s", info.version, ", ".join(missing))
    return out


def mtoon_fallback(gltf: Any) -> None:
    """Give VRM 0.x materials without a glTF base colour their MToon `_Color` and `_MainTex`.

    UniVRM 0.x writes both, but some exporters leave the glTF material bare and keep the colour only
    in `materialProperties`; the materials code then draws these like any glTF material.
    """
    extensions = gltf.extensions if isinstance(gltf.extensions, dict) else {}
    vrm = extensions.get("VRM")
    props = vrm.get("materialProperties") if isinstance(vrm, dict) else None
    if not isinstance(props, list):
        return
    by_name = {p.get("name"): p for p in props if isinstance(p, dict) and isinstance(p.get("name"), str)}
    textures = len(gltf.textures or [])
    for index, material in enumerate(gltf.materials or []):
        prop = by_name.get(material.name) or (props[index] if index < len(props) else None)
        if not isinstance(prop, dict):
            continue
        pbr = material.pbrMetallicRoughness or pygltflib.PbrMetallicRoughness()
        vectors, texs = prop.get("vectorProperties"), prop.get("textureProperties")
        color = vectors.get("_Color") if isinstance(vectors, dict) else None
        if pbr.baseColorFactor in (None, [1.0, 1.0, 1.0, 1.0], [1, 1, 1, 1]) and _rgba(color):
            pbr.baseColorFactor = [min(1.0, max(0.0, float(c))) for c in color]
        texture = _int(texs.get("_MainTex"), textures) if isinstance(texs, dict) else None
        if pbr.baseColorTexture is None and texture is not None:
            pbr.baseColorTexture = pygltflib.TextureInfo(index=texture)
        material.pbrMetallicRoughness = pbr


def _rgba(value: Any) -> TypeGuard[list[float]]:
    return isinstance(value, list) and len(value) == 4 and all(isinstance(c, (int, float)) for c in value)
