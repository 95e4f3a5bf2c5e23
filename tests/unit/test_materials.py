"""Materials and texture images read from generated .glb files: what each glTF field does to a vertex."""

from __future__ import annotations

import logging
import math
import re
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

from emulator.render import materials
from emulator.render.avatar import load_avatar, parse_avatar
from emulator.render.errors import AvatarError
from emulator.render.images import decode_image
from emulator.render.materials import BLEND_CUTOFF, NO_LAYER, apply_uv, uv_matrix
from emulator.render.textures_gl import mip_chain
from tests.support.textured import GREEN, RED, GlbBuilder, checker, encode, textured_square

SQUARE_UVS = np.array([[0, 0], [1, 0], [0, 1], [1, 1]], np.float32)


def _with_material(**fields: object) -> GlbBuilder:
    builder = GlbBuilder()
    image = builder.image(encode(checker(), "PNG"), "image/png", "checker")
    texture = builder.texture(source=image)
    pbr = fields.pop("pbr", {"baseColorTexture": {"index": texture}})
    builder.square(builder.material(pbrMetallicRoughness=pbr, **fields), uv1=True)
    return builder


def test_uv_matrix_is_translation_rotation_scale_as_the_spec_writes_it() -> None:
    offset, rotation, scale = (0.25, -0.5), 0.3, (2.0, 0.5)
    c, s = math.cos(rotation), math.sin(rotation)
    t = np.array([[1, 0, offset[0]], [0, 1, offset[1]], [0, 0, 1]])
    r = np.array([[c, s, 0], [-s, c, 0], [0, 0, 1]])
    sc = np.diag([scale[0], scale[1], 1.0])
    expected = (t @ r @ sc @ np.c_[SQUARE_UVS, np.ones(4)].T).T[:, :2]
    got = apply_uv(
        SQUARE_UVS, uv_matrix({"offset": list(offset), "rotation": rotation, "scale": list(scale)})
    )
    assert np.allclose(got, expected, atol=1e-6)


def test_texture_transform_is_applied_to_the_uvs_at_load() -> None:
    builder = _with_material()
    info = builder.doc["materials"][0]["pbrMetallicRoughness"]["baseColorTexture"]
    info["extensions"] = {"KHR_texture_transform": {"offset": [0.5, 0.0], "scale": [0.5, 1.0]}}
    avatar = parse_avatar(builder.glb(), "transform.glb")
    assert np.allclose(avatar.uvs, SQUARE_UVS * [0.5, 1.0] + [0.5, 0.0])


def test_texcoord_set_and_the_transforms_override_are_followed() -> None:
    builder = _with_material()
    info = builder.doc["materials"][0]["pbrMetallicRoughness"]["baseColorTexture"]
    info["texCoord"] = 1
    assert np.allclose(parse_avatar(builder.glb(), "uv1.glb").uvs, SQUARE_UVS / 2)
    info["extensions"] = {"KHR_texture_transform": {"texCoord": 0}}
    assert np.allclose(parse_avatar(builder.glb(), "uv0.glb").uvs, SQUARE_UVS)


@pytest.mark.parametrize(
    ("fields", "cutoff", "blend"),
    [
        ({}, 0.0, False),
        ({"alphaMode": "MASK"}, 0.5, False),
        ({"alphaMode": "MASK", "alphaCutoff": 0.3}, 0.3, False),
        ({"alphaMode": "BLEND"}, BLEND_CUTOFF, True),
        ({"alphaMode": "SOMETHING"}, 0.0, False),
    ],
)
def test_alpha_modes(fields: dict[str, object], cutoff: float, blend: bool) -> None:
    avatar = parse_avatar(_with_material(**fields).glb(), "alpha.glb")
    assert np.allclose(avatar.surface[:, 1], cutoff)
    assert (avatar.blend_start == 0) is blend and len(avatar.indices) == 6


def test_double_sided_material_is_not_culled() -> None:
    avatar = parse_avatar(_with_material(doubleSided=True).glb(), "two.glb")
    assert avatar.single_sided == 0 and avatar.blend_start == 6
    assert parse_avatar(_with_material().glb(), "one.glb").single_sided == 6


def test_emissive_factor_strength_texture_and_unlit() -> None:
    builder = _with_material(
        emissiveFactor=[0.5, 0.25, 0.0],
        extensions={"KHR_materials_emissive_strength": {"emissiveStrength": 2.0}, "KHR_materials_unlit": {}},
    )
    builder.doc["materials"][0]["emissiveTexture"] = {"index": 0}
    avatar = parse_avatar(builder.glb(), "glow.glb")
    assert np.allclose(avatar.emissive, [1.0, 0.5, 0.0])
    assert np.all(avatar.surface[:, 2] == 0) and np.all(avatar.surface[:, 3] == 1.0)
    assert len(avatar.textures) == 1, "the same image is decoded once for both slots"


def test_base_colour_factor_times_vertex_colour_and_no_texture() -> None:
    avatar = parse_avatar(_with_material(pbr={"baseColorFactor": [0.5, 1.0, 1.0, 1.0]}).glb(), "plain.glb")
    assert np.allclose(avatar.colors, [0.5, 1.0, 1.0, 1.0])
    assert np.all(avatar.surface[:, 0] == NO_LAYER) and len(avatar.textures) == 0


def test_webp_source_is_preferred_to_the_fallback() -> None:
    builder = GlbBuilder()
    grey = builder.image(encode(np.full((8, 8, 4), 128, np.uint8), "PNG"), "image/png", "fallback")
    webp = builder.image(encode(checker(), "WEBP"), "image/webp", "checker")
    builder.square(
        builder.material(pbrMetallicRoughness={"baseColorTexture": {"index": builder.texture(grey, webp)}})
    )
    layer = parse_avatar(builder.glb(), "webp.glb").textures[0]
    assert tuple(layer[10, 10, :3]) == RED and tuple(layer[10, -10, :3]) == GREEN


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_each_format_decodes_to_the_checker(fmt: str) -> None:
    layer = decode_image(encode(checker(), fmt), "checker", layer_size=64)
    assert layer.shape == (64, 64, 4)
    assert np.abs(layer[8, 8, :3].astype(int) - RED).max() <= 8
    assert np.abs(layer[8, 56, :3].astype(int) - GREEN).max() <= 8


def _png_header_only(width: int, height: int) -> bytes:
    def chunk(kind: bytes, payload: bytes) -> bytes:
        return (
            struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0"))
        + chunk(b"IEND", b"")
    )


def _one_image_avatar(data: bytes, name: str = "skin") -> GlbBuilder:
    builder = GlbBuilder()
    image = builder.image(data, "image/png", name)
    builder.square(
        builder.material(pbrMetallicRoughness={"baseColorTexture": {"index": builder.texture(image)}})
    )
    return builder


def _untextured_with_one_warning(builder: GlbBuilder, source: str, caplog: pytest.LogCaptureFixture) -> str:
    """Load `builder`'s file: it must load, untextured, with one warning line; returns that line."""
    with caplog.at_level(logging.WARNING, logger="emulator.render.materials"):
        avatar = parse_avatar(builder.glb(), source)
    assert np.all(avatar.surface[:, 0] == NO_LAYER) and len(avatar.textures) == 0
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(lines) == 1 and "\n" not in lines[0] and lines[0].endswith("(drawn untextured)")
    return lines[0]


@pytest.mark.parametrize(("width", "height"), [(9000, 100), (40_000, 40_000)])
def test_oversized_image_is_refused_from_its_header_naming_it(
    width: int, height: int, caplog: pytest.LogCaptureFixture
) -> None:
    line = _untextured_with_one_warning(
        _one_image_avatar(_png_header_only(width, height), "huge"), "big.glb", caplog
    )
    assert line.startswith("big.glb: image 0 ('huge')") and f"{width}x{height}" in line


@pytest.mark.parametrize(("width", "height"), [(9000, 100), (40_000, 40_000)])
def test_the_decoder_bounds_the_size_from_the_header_too(width: int, height: int) -> None:
    with pytest.raises(AvatarError, match=r"huge: .*too big"):
        decode_image(_png_header_only(width, height), "huge")


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (encode(checker(), "PNG")[:200], "broken image"),
        (b"GIF89a" + b"\0" * 64, "refused"),
        (b"", "refused"),
    ],
)
def test_broken_image_gives_one_line_naming_it(
    data: bytes, words: str, caplog: pytest.LogCaptureFixture
) -> None:
    line = _untextured_with_one_warning(_one_image_avatar(data), "broken.glb", caplog)
    assert line.startswith("broken.glb: image 0 ('skin')") and words in line


def test_image_count_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(materials, "MAX_TEXTURES", 2)
    builder = GlbBuilder()
    for _ in range(3):
        image = builder.image(encode(checker(8), "PNG"), "image/png")
        builder.square(
            builder.material(pbrMetallicRoughness={"baseColorTexture": {"index": builder.texture(image)}})
        )
    avatar = parse_avatar(builder.glb(), "many.glb")
    assert len(avatar.textures) == 2
    assert sorted(set(avatar.surface[:, 0].tolist())) == [NO_LAYER, 0.0, 1.0], "the third square untextured"


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (
            lambda d: d["materials"][0]["pbrMetallicRoughness"].update(baseColorTexture={"index": 9}),
            "texture 9",
        ),
        (lambda d: d["textures"][0].update(source=7), "image 7"),
        (lambda d: d["images"][0].pop("bufferView"), "image 0 .* URI"),
    ],
)
def test_dangling_texture_references_are_named_and_drawn_untextured(
    edit: object, words: str, caplog: pytest.LogCaptureFixture
) -> None:
    builder = _with_material()
    edit(builder.doc)  # type: ignore[operator]
    assert re.search(words, _untextured_with_one_warning(builder, "dangling.glb", caplog))


def test_a_missing_material_is_an_error() -> None:
    builder = _with_material()
    builder.doc["meshes"][0]["primitives"][0]["material"] = 5
    with pytest.raises(AvatarError, match="material 5 does not exist"):
        parse_avatar(builder.glb(), "dangling.glb")


def test_textured_square_file_loads_with_one_layer(tmp_path: Path) -> None:
    avatar = load_avatar(textured_square(tmp_path / "sq.glb", fmt="JPEG"))
    assert avatar.textures.shape == (1, 512, 512, 4) and np.all(avatar.surface[:, 0] == 0)


def test_vrm1_mtoon_is_lit_by_its_base_colour_texture() -> None:
    builder = _with_material(
        extensions={"KHR_materials_unlit": {}, "VRMC_materials_mtoon": {"specVersion": "1.0"}}
    )
    avatar = parse_avatar(builder.glb(), "mtoon.vrm")
    assert np.all(avatar.surface[:, 0] == 0) and np.all(avatar.surface[:, 3] == 0)


def test_vrm0_mtoon_main_texture_is_drawn_when_the_pbr_names_none() -> None:
    builder = _with_material(pbr={}, name="Face", extensions={"KHR_materials_unlit": {}})
    builder.doc["extensions"] = {
        "VRM": {
            "materialProperties": [
                {"name": "Other", "shader": "VRM/MToon", "textureProperties": {}},
                {"name": "Face", "shader": "VRM/MToon", "textureProperties": {"_MainTex": 0}},
            ]
        }
    }
    avatar = parse_avatar(builder.glb(), "old.vrm")
    assert np.all(avatar.surface[:, 0] == 0) and np.all(avatar.surface[:, 3] == 0)
    assert len(avatar.textures) == 1


def test_mip_chain_halves_to_one_pixel_averaging_two_by_two() -> None:
    fine = np.zeros((2, 8, 8, 4), np.uint8)
    fine[:, ::2, ::2] = 200  # one bright texel in every 2×2 block
    chain = mip_chain(fine)
    assert [level.shape[1] for level in chain] == [8, 4, 2, 1]
    assert np.all(chain[1] == 50) and np.all(chain[3] == 50)


def test_the_decoder_refuses_other_kinds_in_one_line() -> None:
    with pytest.raises(AvatarError, match=r"^face: not a PNG, JPEG or WebP image \(") as error:
        decode_image(b"GIF89a" + b"\0" * 64, "face")
    assert "\n" not in str(error.value)
