"""A .gltf's URIs are untrusted: read only base64 data URIs and files inside the .gltf's own folder.

Refused, each in one line naming the URI: any scheme (http, https, file, a drive letter `C:`), an
absolute path, `..`, a backslash, a query or fragment, a NUL, a name that resolves (symlinks too)
outside the folder, a missing or non-regular file, and anything larger than the caller's limit,
checked before a byte is read or decoded. Names are percent-decoded before the checks.
"""

from __future__ import annotations

import base64
import binascii
import re
from pathlib import Path
from urllib.parse import unquote

from emulator.render.errors import AvatarError

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
_DATA = re.compile(r"^data:([^,;]*)((?:;[^,;]*)*),", re.IGNORECASE)


def _shown(uri: str) -> str:
    return repr(uri if len(uri) <= 80 else uri[:77] + "...")


def data_uri(uri: str) -> tuple[bytes, str] | None:
    """(bytes, MIME type) of a `data:` URI, or None when `uri` is not one. Unbounded: see read_uri."""
    match = _DATA.match(uri)
    if match is None:
        return None
    if ";base64" not in match.group(2).lower():
        raise ValueError("only base64 data URIs are read")
    try:
        return base64.b64decode(uri[match.end() :], validate=True), match.group(1).lower()
    except (binascii.Error, ValueError):
        raise ValueError("its base64 is invalid") from None


def _refusal(uri: str, base: Path | None) -> str | None:
    """Why a non-data URI may not be read, or None when it names a file inside `base`."""
    if base is None:
        return "a .glb's buffers and images must be inside it"
    if _SCHEME.match(uri):
        return "only files beside the .gltf are read (no http, file or other schemes)"
    if "?" in uri or "#" in uri:
        return "a query or fragment is not a file name"
    name = unquote(uri, errors="strict")
    if "\x00" in name or "\\" in name:
        return "a NUL or a backslash has no place in a file name"
    if name.startswith("/") or _SCHEME.match(name):
        return "absolute paths are not read"
    if ".." in name.split("/"):
        return "'..' leaves the .gltf's folder"
    return None


def read_uri(uri: object, base: Path | None, source: str, what: str, limit: int) -> tuple[bytes, str]:
    """The bytes and MIME type (from a data URI; '' for files) that `uri` names, at most `limit` bytes."""
    if not isinstance(uri, str) or not uri:
        raise AvatarError(f"{source}: {what} has an empty or non-text URI")
    shown = _shown(uri)
    if uri[:5].lower() == "data:":
        if len(uri) * 3 // 4 > limit + 3:
            raise AvatarError(f"{source}: {what} data URI is over the {limit}-byte limit")
        try:
            decoded = data_uri(uri)
        except ValueError as error:
            raise AvatarError(f"{source}: {what} data URI refused: {error}") from None
        if decoded is None:
            raise AvatarError(f"{source}: {what} data URI {shown} is malformed")
        return decoded
    try:
        reason = _refusal(uri, base)
    except UnicodeDecodeError:
        reason = "its percent-escapes are not UTF-8"
    if reason is not None or base is None:
        raise AvatarError(f"{source}: {what} URI {shown} refused: {reason}")
    root = base.resolve()
    path = (root / unquote(uri)).resolve()
    if not path.is_relative_to(root):
        raise AvatarError(f"{source}: {what} URI {shown} refused: it resolves outside the .gltf's folder")
    try:
        if not path.is_file():
            raise AvatarError(f"{source}: {what} URI {shown}: no such file beside the .gltf")
        size = path.stat().st_size
        if size <= limit:
            with path.open("rb") as file:
                data = file.read(limit + 1)  # the file may have grown since stat
            size = len(data)
        if size > limit:
            raise AvatarError(f"{source}: {what} URI {shown}: {size} bytes is over the {limit}-byte limit")
        return data, ""
    except OSError as error:
        raise AvatarError(f"{source}: {what} URI {shown}: cannot read ({error.strerror})") from None
