"""The one list of glTF extensions the avatar loader understands, and the policy for the others.

A file whose `extensionsRequired` names one we do not support is refused in one line naming it;
one we merely skip (listed in `extensionsUsed`) is logged once per process, since the file still
draws without it (that is what "not required" means).
"""

from __future__ import annotations

import logging
from typing import Any

from emulator.render.errors import AvatarError

log = logging.getLogger(__name__)

MESHOPT = ("EXT_meshopt_compression", "KHR_meshopt_compression")

SUPPORTED_EXTENSIONS: frozenset[str] = frozenset(
    {
        # Geometry and files (gltf_read.py, gltf_meshopt.py).
        "KHR_mesh_quantization",
        *MESHOPT,
        # Materials and textures (materials.py).
        "KHR_texture_transform",
        "EXT_texture_webp",
        "KHR_materials_emissive_strength",
        "KHR_materials_unlit",
        # VRM (vrm.py): MToon is drawn by its base colour, which every VRM material also carries.
        "VRM",
        "VRMC_vrm",
        "VRMC_materials_mtoon",
    }
)

_logged: set[str] = set()


def _names(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def check_extensions(gltf: Any, source: str) -> None:
    """Refuse a file that requires an unsupported extension; log each skipped optional one once."""
    for name in _names(gltf.extensionsRequired):
        if name not in SUPPORTED_EXTENSIONS:
            raise AvatarError(
                f"{source}: requires the glTF extension {name}, which this program does not support; "
                f"re-export the avatar without {name}"
            )
    for name in _names(gltf.extensionsUsed):
        if name not in SUPPORTED_EXTENSIONS and name not in _logged:
            _logged.add(name)
            log.info("%s: skipping the optional glTF extension %s (drawn without it)", source, name)
