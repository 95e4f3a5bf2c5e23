""".glb and .gltf from elsewhere: layouts, untrusted URIs, size bounds, extensions, quantization, meshopt."""

from __future__ import annotations

import json
import logging
import struct
from pathlib import Path

import meshopt
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulator.render import gltf_read
from emulator.render.avatar import Avatar, load_avatar, parse_avatar
from emulator.render.errors import AvatarError
from emulator.render.gltf_extensions import SUPPORTED_EXTENSIONS
from emulator.render.gltf_images import check_image, image_size
from emulator.render.gltf_read import AccessorReader, load_document
from emulator.render.gltf_uri import read_uri
from tests.support.gltf_make import skin_png, write_face, write_gltf


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> Avatar:
    return load_avatar(write_gltf(tmp_path_factory.mktemp("plain") / "face.glb"))


def _reader(path: Path) -> AccessorReader:
    gltf, buffers = load_document(path.read_bytes(), str(path), path.parent)
    return AccessorReader(gltf, buffers, str(path), path.parent)


@pytest.mark.parametrize("layout", ["files", "data-uri"])
def test_gltf_with_external_or_data_uri_buffers_loads_as_the_glb_does(
    plain: Avatar, tmp_path: Path, layout: str
) -> None:
    path = write_gltf(tmp_path / "face.gltf", layout)  # type: ignore[arg-type]
    if layout == "files":
        assert {p.name for p in tmp_path.iterdir()} == {"face.gltf", "face.bin", "skin.png"}
    avatar = load_avatar(path)
    np.testing.assert_array_equal(avatar.positions, plain.positions)
    np.testing.assert_array_equal(avatar.deltas, plain.deltas)
    assert avatar.target_names == ("jawOpen", "eyeBlinkLeft", "eyeBlinkRight")


@pytest.mark.parametrize(("layout", "name"), [("glb", "f.glb"), ("files", "f.gltf"), ("data-uri", "f.gltf")])
def test_image_bytes_gives_the_png_and_its_type_from_every_layout(
    tmp_path: Path, layout: str, name: str
) -> None:
    reader = _reader(write_gltf(tmp_path / name, layout))  # type: ignore[arg-type]
    assert reader.image_bytes(0) == (skin_png(), "image/png")
    with pytest.raises(AvatarError, match="image 1 does not exist"):
        reader.image_bytes(1)


def _gltf_with(tmp_path: Path, *, buffer_uri: str | None = None, image_uri: str | None = None) -> Path:
    path = tmp_path / "site" / "face.gltf"
    written = write_face(path, layout="files")
    written.finish(path, "files", skin_png())
    doc = json.loads(path.read_text())
    if buffer_uri is not None:
        doc["buffers"][0]["uri"] = buffer_uri
    if image_uri is not None:
        doc["images"][0]["uri"] = image_uri
    path.write_text(json.dumps(doc))
    (tmp_path / "outside.bin").write_bytes((path.parent / "face.bin").read_bytes())
    return path


HOSTILE = [
    ("http://example.invalid/face.bin", "schemes"),
    ("https://example.invalid/face.bin", "schemes"),
    ("file:///etc/passwd", "schemes"),
    ("C:/Windows/face.bin", "schemes"),
    ("/etc/passwd", "absolute"),
    ("%2Fetc%2Fpasswd", "absolute"),
    ("../outside.bin", "'..'"),
    ("%2e%2e/outside.bin", "'..'"),
    ("sub/../../outside.bin", "'..'"),
    ("..\\outside.bin", "backslash"),
    ("face.bin%00.png", "NUL"),
    ("face.bin?x=1", "query"),
    ("%ff%fe.bin", "UTF-8"),
    ("missing.bin", "no such file"),
]


@pytest.mark.parametrize(("uri", "reason"), HOSTILE)
def test_hostile_buffer_uris_are_refused_in_one_line_naming_them(
    tmp_path: Path, uri: str, reason: str
) -> None:
    path = _gltf_with(tmp_path, buffer_uri=uri)
    with pytest.raises(AvatarError, match=reason) as caught:
        load_avatar(path)
    message = str(caught.value)
    assert "\n" not in message and repr(uri) in message and "buffer 0" in message


@pytest.mark.parametrize(("uri", "reason"), HOSTILE[:3] + HOSTILE[6:8])
def test_hostile_image_uris_are_refused(tmp_path: Path, uri: str, reason: str) -> None:
    path = _gltf_with(tmp_path, image_uri=uri)
    load_avatar(path)  # geometry loads; the image is refused when asked for
    with pytest.raises(AvatarError, match=reason):
        _reader(path).image_bytes(0)


def test_a_symlink_out_of_the_folder_is_refused(tmp_path: Path) -> None:
    path = _gltf_with(tmp_path, buffer_uri="link.bin")
    (path.parent / "link.bin").symlink_to(tmp_path / "outside.bin")
    with pytest.raises(AvatarError, match="resolves outside"):
        load_avatar(path)


def test_a_glb_parsed_from_bytes_reads_no_files(tmp_path: Path) -> None:
    path = _gltf_with(tmp_path)
    with pytest.raises(AvatarError, match="refused"):
        parse_avatar(path.read_bytes(), "face.gltf")  # no folder given: only data URIs


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(uri=st.text(min_size=1, max_size=40))
def test_any_uri_reads_a_file_inside_the_folder_or_is_an_avatar_error(tmp_path: Path, uri: str) -> None:
    folder = tmp_path / "inside"
    folder.mkdir(exist_ok=True)
    (folder / "a.bin").write_bytes(b"inside")
    (tmp_path / "secret.bin").write_bytes(b"secret")
    try:
        data, _ = read_uri(uri, folder, "x.gltf", "buffer 0", 1 << 20)
    except AvatarError as error:
        assert "\n" not in str(error)
    else:
        assert data in (b"inside", b"") or uri.startswith("data:")


def test_oversized_images_are_refused_before_decoding(tmp_path: Path) -> None:
    huge = bytearray(skin_png())
    huge[16:24] = struct.pack(">II", 20000, 20000)  # the IHDR says 20000 x 20000 pixels
    path = tmp_path / "face.gltf"
    write_face(path, layout="files").finish(path, "files", bytes(huge))
    with pytest.raises(AvatarError, match=r"image 0 \('skin'\) refused: 20000x20000 pixels is over"):
        _reader(path).image_bytes(0)


def test_image_bytes_over_the_limit_and_unknown_kinds_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_gltf(tmp_path / "face.gltf", "files")
    (tmp_path / "skin.png").write_bytes(b"GIF89a" + bytes(64))
    with pytest.raises(AvatarError, match="not a PNG, JPEG or WebP"):
        _reader(path).image_bytes(0)
    monkeypatch.setattr(gltf_read, "MAX_IMAGE_BYTES", 10)
    with pytest.raises(AvatarError, match="over the 10-byte limit"):
        _reader(path).image_bytes(0)


def test_too_many_images_or_too_many_buffer_bytes_are_refused_before_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_gltf(tmp_path / "face.gltf", "files")
    doc = json.loads(path.read_text())
    doc["images"] = doc["images"] * 300
    path.write_text(json.dumps(doc))
    with pytest.raises(AvatarError, match="300 images"):
        load_avatar(path)
    path = write_gltf(tmp_path / "data.gltf", "data-uri")
    monkeypatch.setattr(gltf_read, "MAX_BUFFER_BYTES", 1000)
    with pytest.raises(AvatarError, match="data URI is over the 1000-byte limit"):
        load_avatar(path)
    path = write_gltf(tmp_path / "files" / "face.gltf", "files")
    with pytest.raises(AvatarError, match=r"buffer 0 URI 'face\.bin': \d+ bytes is over the 1000-byte limit"):
        load_avatar(path)


def test_an_unsupported_required_extension_is_one_line_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "face.glb"
    written = write_face(path)
    written.doc["extensionsUsed"] = written.doc["extensionsRequired"] = ["KHR_draco_mesh_compression"]
    written.finish(path, "glb")
    with pytest.raises(AvatarError) as caught:
        load_avatar(path)
    assert str(caught.value) == (
        f"{path}: requires the glTF extension KHR_draco_mesh_compression, which this program does not "
        "support; re-export the avatar without KHR_draco_mesh_compression"
    )


def test_optional_extensions_we_skip_are_logged_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "face.glb"
    written = write_face(path)
    written.doc["extensionsUsed"] = ["EXT_test_unknown_optional", "KHR_texture_transform"]
    written.finish(path, "glb")
    with caplog.at_level(logging.INFO, logger="emulator.render.gltf_extensions"):
        load_avatar(path)
        load_avatar(path)
    skipped = [r.getMessage() for r in caplog.records if "skipping the optional" in r.getMessage()]
    assert len(skipped) == 1 and "EXT_test_unknown_optional" in skipped[0]


def test_supported_extensions_cover_the_formats_and_materials_lists() -> None:
    assert {"KHR_mesh_quantization", "EXT_meshopt_compression", "KHR_texture_transform", "EXT_texture_webp",
            "VRM", "VRMC_vrm"} <= SUPPORTED_EXTENSIONS  # fmt: skip


def test_quantized_copy_loads_as_the_plain_one_within_quantization_error(
    plain: Avatar, tmp_path: Path
) -> None:
    path = write_gltf(tmp_path / "q.glb", quantize=True)
    gltf, _ = load_document(path.read_bytes(), str(path))
    assert gltf.extensionsRequired == ["KHR_mesh_quantization"]
    assert gltf.accessors[0].componentType == 5122, "positions are 16-bit integers"
    avatar = load_avatar(path)
    assert np.abs(avatar.positions - plain.positions).max() < 1e-5  # 16-bit positions over 25 cm
    assert np.abs(avatar.deltas - plain.deltas).max() < 1e-5
    assert np.abs(avatar.normals - plain.normals).max() < 0.02  # 8-bit normals
    np.testing.assert_array_equal(avatar.colors, plain.colors)


def test_meshopt_compressed_quantized_copy_loads_as_the_plain_one(plain: Avatar, tmp_path: Path) -> None:
    path = write_gltf(tmp_path / "c.glb", quantize=True, compress=True)
    gltf, buffers = load_document(path.read_bytes(), str(path))
    assert gltf.buffers[1].uri is None and buffers[1] == b"", "the fallback buffer holds no bytes"
    assert set(gltf.extensionsRequired) == {"EXT_meshopt_compression", "KHR_mesh_quantization"}
    assert path.stat().st_size < write_gltf(tmp_path / "p.glb").stat().st_size / 3
    avatar = load_avatar(path)
    assert np.abs(avatar.positions - plain.positions).max() < 1e-5
    assert np.abs(avatar.deltas - plain.deltas).max() < 1e-5
    assert _triangles(avatar) == _triangles(plain), "the index codec may rotate a triangle, never change it"


def _triangles(avatar: Avatar) -> set[tuple[int, ...]]:
    rows = avatar.indices.reshape(-1, 3)
    turned = [np.roll(rows, -k, axis=1) for k in range(3)]
    return {tuple(min((t[i] for t in turned), key=tuple)) for i in range(len(rows))}


def test_meshopt_compressed_plain_floats_and_external_files(plain: Avatar, tmp_path: Path) -> None:
    avatar = load_avatar(write_gltf(tmp_path / "c.gltf", "files", compress=True))
    np.testing.assert_array_equal(avatar.positions, plain.positions)


def test_a_corrupt_meshopt_stream_or_a_read_of_the_fallback_is_a_clear_error(tmp_path: Path) -> None:
    path = write_gltf(tmp_path / "c.gltf", "files", compress=True)
    blob = bytearray((tmp_path / "c.bin").read_bytes())
    blob[:64] = bytes(64)
    (tmp_path / "c.bin").write_bytes(bytes(blob))
    with pytest.raises(AvatarError, match="meshopt-compressed bufferView 0: the compressed data is corrupt"):
        load_avatar(path)
    doc = json.loads(path.read_text())
    del doc["bufferViews"][0]["extensions"]
    path.write_text(json.dumps(doc))
    with pytest.raises(AvatarError, match="uses buffer 1, which holds no bytes"):
        load_avatar(path)


def test_the_meshopt_binding_decodes_meshoptimizers_own_reference_streams() -> None:
    """The `meshopt` package really is meshoptimizer's codec: its JS module's decodeGltfBuffer vectors."""
    attributes = bytes.fromhex(
        "a0013f0000005857580126000000010c00000058010800000000000000013f0000001718170126000000010c000000"
        "17010800" + "00" * 34
    )
    rows = meshopt.decode_gltf_buffer(attributes, 4, 12, "ATTRIBUTES")
    expected = [0] * 12 + [44, 1, 0, 0, 0, 0, 0, 0, 244, 1, 0, 0, 0, 0, 44, 1, 0, 0, 0, 0, 0, 0]
    assert rows.ravel().tolist() == [*expected, 244, 1, 44, 1, 44, 1, 0, 0, 0, 0, 244, 1, 244, 1]
    triangles = bytes.fromhex("e0f010feff f00cff02 020200 7687566778a9866589689801690000".replace(" ", ""))
    assert meshopt.decode_gltf_buffer(triangles, 12, 2, "TRIANGLES").tolist() == [
        0,
        1,
        2,
        2,
        1,
        3,
        4,
        6,
        5,
        7,
        8,
        9,
    ]


def test_a_gltf_of_another_version_or_with_a_bare_buffer_is_refused(tmp_path: Path) -> None:
    path = write_gltf(tmp_path / "f.gltf", "files")
    doc = json.loads(path.read_text())
    doc["asset"]["version"] = "1.0"
    with pytest.raises(AvatarError, match=r"only glTF 2\.0"):
        parse_avatar(json.dumps(doc).encode(), "f.gltf", base=tmp_path)
    doc["asset"]["version"] = "2.0"
    del doc["buffers"][0]["uri"]
    with pytest.raises(AvatarError, match="buffer 0 has no URI and no data"):
        parse_avatar(json.dumps(doc).encode(), "f.gltf", base=tmp_path)


def _jpeg(width: int, height: int) -> bytes:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0"
    sof0 = b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, height, width, 3) + bytes(9)
    return b"\xff\xd8" + app0 + sof0 + b"\xff\xd9"


def _webp(kind: bytes, width: int, height: int) -> bytes:
    if kind == b"VP8L":
        body = b"\x2f" + struct.pack("<I", (width - 1) | (height - 1) << 14)
    elif kind == b"VP8X":
        body = bytes(4) + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    else:
        body = bytes(3) + b"\x9d\x01\x2a" + struct.pack("<HH", width, height)
    chunk = kind + struct.pack("<I", len(body)) + body
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk


@pytest.mark.parametrize(
    ("data", "mime"),
    [
        (_jpeg, "image/jpeg"),
        *[(lambda w, h, k=k: _webp(k, w, h), "image/webp") for k in (b"VP8 ", b"VP8L", b"VP8X")],
    ],
)
def test_jpeg_and_webp_headers_give_their_size_and_big_ones_are_refused(data: object, mime: str) -> None:
    make = data  # a function of (width, height)
    assert image_size(make(640, 480), mime) == (640, 480)  # type: ignore[operator]
    assert check_image(make(4096, 4096), "") == (mime, None)  # type: ignore[operator]
    kind, refusal = check_image(make(8193, 16), "")  # type: ignore[operator]
    assert kind == mime and refusal == "8193x16 pixels is over the 8192x8192 limit"
    assert check_image(make(640, 480)[:14], "")[1] is not None  # type: ignore[operator]


def test_image_sizes_match_what_pillow_writes() -> None:
    image_module = pytest.importorskip("PIL.Image")
    import io

    for fmt, mime in (("JPEG", "image/jpeg"), ("WEBP", "image/webp"), ("PNG", "image/png")):
        for lossless in (False, True):
            out = io.BytesIO()
            image_module.new("RGB", (37, 23)).save(out, fmt, lossless=lossless)
            assert check_image(out.getvalue(), "") == (mime, None)
            assert image_size(out.getvalue(), mime) == (37, 23)


def test_khr_meshopt_compression_is_read_as_the_ext_one(plain: Avatar, tmp_path: Path) -> None:
    path = write_gltf(tmp_path / "k.gltf", "data-uri", quantize=True, compress=True)
    path.write_text(path.read_text().replace("EXT_meshopt_compression", "KHR_meshopt_compression"))
    assert np.abs(load_avatar(path).positions - plain.positions).max() < 1e-5


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_damaged_meshopt_files_load_or_raise_avatar_error_only(tmp_path: Path, data: st.DataObject) -> None:
    """Hostile bytes reach meshoptimizer's C decoder: it must refuse them, never crash or read past them."""
    path = tmp_path / "c.glb"
    if not path.exists():
        write_gltf(path, quantize=True, compress=True)
    original = bytearray(path.read_bytes())
    json_end = 20 + struct.unpack_from("<I", original, 12)[0]
    for _ in range(data.draw(st.integers(1, 8))):
        position = data.draw(st.integers(json_end + 8, len(original) - 1))  # inside the compressed streams
        original[position] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(json_end, len(original)))
    try:
        parse_avatar(bytes(original[:cut]) if data.draw(st.booleans()) else bytes(original), "fuzz.glb")
    except AvatarError as error:
        assert "\n" not in str(error)
