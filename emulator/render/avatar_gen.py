"""The bundled default avatars: rerun `python scripts/make_default_avatar.py` to regenerate them.

One procedural bust (`bust_geometry`: the head of `head_geometry` on a neck and upper torso) with its
52 ARKit targets (`head_targets`) and a skin with Mixamo / Ready Player Me bone names, written once per
colour variant so participants can be told apart. Only `emulator/assets/avatars/default.glb` is committed
(about 650 KiB); the other variants are made on first use into the user's cache (about 1.5 s each).
The files follow glTF's convention (the model faces +z); the loader turns every avatar to face -z like
the headset it stands for. The point between the eyes is stored as
`scene.extras.headsetEmulator.eyeCentre` so the loader anchors the head pose there.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
from pathlib import Path

import numpy as np

from emulator.model import paths
from emulator.model.assets import asset_path
from emulator.render.avatar import Avatar, load_avatar
from emulator.render.bust_geometry import BONES, build_bust
from emulator.render.errors import AvatarError
from emulator.render.glb_write import Skin, write_glb
from emulator.render.head_targets import build_targets
from emulator.render.variants import VARIANTS as VARIANTS  # its users import it from here

log = logging.getLogger(__name__)


# glTF models face +z; ours face -z: a half turn about y (x and z change sign).
_TO_GLTF = np.array([-1.0, 1.0, -1.0], dtype=np.float32)


def _cache_dir() -> Path:
    return paths.cache_dir() / "avatars"


def default_avatar_path(variant: str = "default") -> Path:
    """The .glb of a bundled variant. `default` ships in assets/; the others (same mesh, other colours)
    are generated on first use into the user's cache, which keeps the repository small."""
    if variant not in VARIANTS:
        raise AvatarError(f"unknown avatar variant {variant!r}; known: {', '.join(VARIANTS)}")
    bundled = asset_path("avatars", f"{variant}.glb")
    if bundled.exists():
        return bundled
    # Named after the committed default's hash: when the head changes, stale variants are not reused.
    stamp = hashlib.sha1(asset_path("avatars", "default.glb").read_bytes()).hexdigest()[:12]
    cached = _cache_dir() / f"{variant}-{stamp}.glb"
    if not cached.exists():
        partial = cached.with_name(f".{cached.name}.{os.getpid()}.tmp")
        generate(variant, partial)
        partial.replace(cached)  # atomic: a concurrent reader never sees half a file
        log.info("generated avatar variant %s at %s", variant, cached)
    return cached


def load_default_avatar(variant: str = "default") -> Avatar:
    return load_avatar(default_avatar_path(variant))


def variant_for(index: int) -> str:
    """The variant for the index-th participant, cycling, so neighbours look different."""
    names = list(VARIANTS)
    return names[index % len(names)]


def generate(variant: str, path: Path) -> int:
    """Write one colour variant; returns its size in bytes."""
    bust = build_bust(VARIANTS[variant])
    head = bust.head
    targets = build_targets(head)
    positions = head.positions.astype(np.float32)
    colors = np.concatenate([head.colors, np.ones((len(positions), 1), np.float32)], axis=1)
    return write_glb(
        path,
        name=f"headset-emulator-{variant}",
        positions=positions * _TO_GLTF,
        normals=None,  # smooth normals are recomputed on load: a quarter of the file saved
        colors=colors,
        indices=head.triangles[: head.single_sided].astype(np.uint32).ravel(),
        double_sided_indices=head.triangles[head.single_sided :].astype(np.uint32).ravel(),
        targets={name: d * _TO_GLTF for name, d in targets.items()},
        extras={"headsetEmulator": {"eyeCentre": [0.0, 0.0, 0.0], "variant": variant}},
        skin=Skin(
            bones=tuple((name, parent, tuple(np.asarray(at) * _TO_GLTF)) for name, parent, at in BONES),
            joints=bust.joints,
            weights=bust.weights,
        ),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="regenerate the bundled default avatars")
    parser.add_argument("--out", type=Path, default=None, help="directory (default: emulator/assets/avatars)")
    parser.add_argument("variants", nargs="*", default=["default"], help=f"any of {', '.join(VARIANTS)}")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for variant in args.variants:
        if variant not in VARIANTS:
            parser.error(f"unknown variant {variant!r}")
        path = (args.out / f"{variant}.glb") if args.out else default_avatar_path(variant)
        size = generate(variant, path)
        log.info("wrote %s (%d KiB)", path, size // 1024)
    return 0
