"""Coarser copies of an avatar for when it is small on screen (levels of detail), morph targets and all.

llvmpipe shades vertices on one CPU thread, so a crowd of full-detail heads costs most of a frame while
each covers a few dozen pixels. `simplified(avatar, cell)` merges the vertices that share a grid cell
of `cell` metres (vertex clustering): a cluster takes its members' mean position, colour, normal and
*target deltas*, so the coarse head still blinks and talks; it keeps its nearest member's material and
the mean UV (a UV seam splits glTF vertices, so the pieces below keep texture islands apart).
Vertices are clustered on where they are at rest, where the open jaw takes them (so the two lips of a
closed mouth stay apart) and in which connected piece of the mesh they are (so a lid and the eye under
it stay apart). Triangles that collapse are dropped. A skinned avatar's body is clustered coarser than
its head (`BODY_CELLS`), its vertices only merge with those that follow the same main joint (a finger
never merges with the thigh it rests on), and a cluster takes its nearest member's joints and weights.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components

from emulator.model.face import ARKIT_NAMES
from emulator.render.avatar import Avatar

HEAD_HEIGHT_M = 0.25
# (cell size in metres, the smallest on-screen head height in pixels drawn at that level)
LEVELS: tuple[tuple[float, float], ...] = ((0.0, 300.0), (0.006, 180.0), (0.012, 100.0), (0.016, 0.0))
# A skinned avatar's body (all but the head) needs less detail than its face at the same distance:
# its cell at each level (thin pieces such as fingers included, which would keep nearly every vertex
# otherwise). A body whose head is 100-180 px tall is ~700 px tall: 4 cm cells are ~16 px.
BODY_CELLS: dict[float, float] = {0.006: 0.015, 0.012: 0.04, 0.016: 0.08}
# Its hands keep the head's cell (a wave stays readable) except at the coarsest level, where a hand is
# under ~60 px tall and its fingers 2-3 px wide: there they take 3.2 cm cells, which keeps five fingers
# as strokes and takes a far half body's hands from 792 triangles to 218 (of 3,854 and 3,280 in all).
HAND_CELLS: dict[float, float] = {0.016: 0.032}


def simplified(avatar: Avatar, cell: float) -> Avatar:
    if cell <= 0.0:
        return avatar
    cache = avatar.levels
    if cell in cache:
        return cache[cell]
    moved = avatar.positions + _opening(avatar)
    piece = components(avatar)
    size = _piece_cell(avatar.positions, piece, cell)
    main = None
    if avatar.skin_joints is not None and avatar.skin_weights is not None:
        main = np.take_along_axis(avatar.skin_joints, avatar.skin_weights.argmax(axis=1)[:, None], axis=1)
        part = _parts(avatar)[main[:, 0]]
        size[part == _BODY] = BODY_CELLS.get(cell, 5 * cell)
        size[part == _HAND] = HAND_CELLS.get(cell, cell)
    size = size[:, None]
    columns = [np.floor(avatar.positions / size), np.floor(moved / (2 * size)), piece[:, None]]
    if main is not None:
        columns.append(main.astype(np.float64))
    key = np.concatenate(columns, axis=1).astype(np.int64)
    _, cluster, counts = np.unique(key, axis=0, return_inverse=True, return_counts=True)
    cluster = cluster.ravel()
    n = len(counts)
    # Cluster means as one sparse product (n × vertices, 1/count per member): np.add.at took most of
    # the demo's start-up preload, once per target, level and avatar.
    vertices = len(cluster)
    average = csr_matrix((1.0 / counts[cluster], (cluster, np.arange(vertices))), shape=(n, vertices))

    def mean(values: np.ndarray) -> np.ndarray:
        flat = values.reshape(vertices, -1).astype(np.float64)
        return np.asarray(average @ flat, np.float32).reshape(n, *values.shape[1:])

    normals = mean(avatar.normals)
    normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-9)
    single = _collapse(cluster[avatar.indices[: avatar.single_sided].reshape(-1, 3)])
    double = _collapse(cluster[avatar.indices[avatar.single_sided : avatar.blend_start].reshape(-1, 3)])
    blend = _collapse(cluster[avatar.indices[avatar.blend_start :].reshape(-1, 3)])
    targets = len(avatar.deltas)
    deltas = (
        mean(np.asarray(avatar.deltas).transpose(1, 0, 2)).transpose(1, 0, 2).copy()
        if targets
        else np.zeros((0, n, 3), np.float32)
    )
    centres = mean(avatar.positions)
    skin = {}
    if avatar.skin_joints is not None and avatar.skin_weights is not None:
        skin = {
            "draws_own_hands": avatar.draws_own_hands,
            "skeleton": avatar.skeleton,
            "skin_joints": _nearest_member(avatar.positions, cluster, centres, avatar.skin_joints),
            "skin_weights": _nearest_member(avatar.positions, cluster, centres, avatar.skin_weights),
        }
    coarse = Avatar(
        name=f"{avatar.name}@{cell * 1000:.0f}mm",
        positions=centres,
        normals=normals,
        colors=_nearest_member(avatar.positions, cluster, centres, avatar.colors),
        indices=np.concatenate([single, double, blend]).astype(np.uint32).ravel(),
        target_names=avatar.target_names,
        deltas=deltas,
        single_sided=single.size,
        uvs=mean(avatar.uvs),
        surface=_nearest_member(avatar.positions, cluster, centres, avatar.surface),
        emissive=_nearest_member(avatar.positions, cluster, centres, avatar.emissive),
        textures=avatar.textures,  # the same array: texture layers are uploaded once for every level
        blend_start=single.size + double.size,
        **skin,  # type: ignore[arg-type]
    )
    cache[cell] = coarse
    return coarse


_HEAD, _HAND, _BODY = 0, 1, 2


def _parts(avatar: Avatar) -> np.ndarray:
    """Per skin slot: does it follow the head (or a bone under it), a hand, or the rest of the body?"""
    skeleton = avatar.skeleton
    if skeleton is None:
        return np.zeros(0, np.int8)
    roots = {
        skeleton.bone("head"): _HEAD,
        skeleton.bone("leftHand"): _HAND,
        skeleton.bone("rightHand"): _HAND,
    }
    part = np.full(len(skeleton.parents), _BODY, np.int8)
    for bone, parent in enumerate(skeleton.parents.tolist()):  # parents come first
        part[bone] = roots.get(bone, part[parent] if parent >= 0 else _BODY)
    return np.asarray(part[skeleton.slot_bones])


def _piece_cell(positions: np.ndarray, piece: np.ndarray, cell: float) -> np.ndarray:
    """Cell size per vertex: small or thin pieces (eyes, lids, brows, teeth) get finer cells, so they
    keep their shape instead of collapsing into a few triangles or vanishing."""
    count = int(piece.max()) + 1
    low = np.full((count, 3), np.inf)
    high = np.full((count, 3), -np.inf)
    np.minimum.at(low, piece, positions)
    np.maximum.at(high, piece, positions)
    extent = high - low
    per_piece = np.minimum(cell, np.minimum(extent.min(axis=1) / 2.5, np.linalg.norm(extent, axis=1) / 10))
    return np.asarray(np.maximum(per_piece, 1e-4)[piece])


def _nearest_member(
    positions: np.ndarray, cluster: np.ndarray, centres: np.ndarray, colors: np.ndarray
) -> np.ndarray:
    """Each cluster's colour is that of its member nearest the centre: averaging would turn an iris
    with its white and pupil into grey."""
    distance = np.linalg.norm(positions - centres[cluster], axis=1)
    order = np.lexsort((distance, cluster))
    first = order[np.concatenate([[True], cluster[order][1:] != cluster[order][:-1]])]
    out = np.empty((len(centres), colors.shape[1]), colors.dtype)
    out[cluster[first]] = colors[first]
    return out


def _collapse(triangles: np.ndarray) -> np.ndarray:
    """Triangles whose corners fell into different clusters, each once (winding kept)."""
    keep = (
        (triangles[:, 0] != triangles[:, 1])
        & (triangles[:, 1] != triangles[:, 2])
        & (triangles[:, 0] != triangles[:, 2])
    )
    triangles = triangles[keep]
    _, first = np.unique(np.sort(triangles, axis=1), axis=0, return_index=True)
    return np.asarray(triangles[np.sort(first)])


def _opening(avatar: Avatar) -> np.ndarray:
    """Displacement that separates surfaces touching at rest: the jaw's when the avatar has one (the lips),
    else all targets together."""
    jaw = avatar.targets.arkit[ARKIT_NAMES.index("jawOpen")]
    if jaw >= 0:
        return np.asarray(avatar.deltas[jaw])
    return np.asarray(avatar.deltas.sum(axis=0)) if len(avatar.deltas) else np.zeros_like(avatar.positions)


def components(avatar: Avatar) -> np.ndarray:
    """Connected-component label of every vertex: an eyeball and its lid never merge."""
    n = avatar.vertex_count
    tris = avatar.indices.reshape(-1, 3).astype(np.int64)
    rows = np.concatenate([tris[:, 0], tris[:, 1]])
    cols = np.concatenate([tris[:, 1], tris[:, 2]])
    graph = coo_matrix((np.ones(len(rows), np.int8), (rows, cols)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return np.asarray(labels)


def level_for(head_pixels: float) -> float:
    """The cell size to draw a head that is `head_pixels` tall on screen."""
    for cell, threshold in LEVELS:
        if head_pixels >= threshold:
            return cell
    return LEVELS[-1][0]
