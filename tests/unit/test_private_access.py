"""Only emulator/net/transport/patches.py touches aiortc's and aioice's private attributes: every other
module goes through its named functions, so an upgrade that moves an internal breaks one checked
place.

The private names are those aiortc and aioice themselves use (read from their installed sources); a
module is flagged when it names one on anything but `self`/`cls` (`pc._sctp`, `getattr(x, "_foo")`)
or spells a name-mangled one (`"_RTCRtpReceiver__jitter_buffer"`)."""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path

import aioice
import aiortc

import emulator

ROOT = Path(emulator.__file__).parent
ALLOWED = {ROOT / "net" / "transport" / "patches.py"}
ATTRIBUTE_CALLS = {"getattr", "setattr", "hasattr", "delattr"}


@functools.cache
def private_names() -> tuple[frozenset[str], frozenset[str]]:
    """(the underscore names aiortc and aioice use, their class names for name-mangled forms)."""
    names: set[str] = set()
    classes: set[str] = set()
    for package in (aiortc, aioice):
        for path in Path(package.__file__).parent.rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ClassDef):
                    classes.add(node.name)
                if isinstance(node, ast.Attribute):
                    name = node.attr
                elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                    name = node.name
                else:
                    continue
                if name.startswith("_") and not name.endswith("__"):
                    names.add(name)
    return frozenset(names), frozenset(classes)


def _mangled(text: str, classes: frozenset[str]) -> bool:
    """`_RTCRtpSender__mid` or the bare prefix `_RTCRtpSender__`: a private attribute of that class."""
    match = re.fullmatch(r"_([A-Za-z]\w*?)__\w*", text)
    return match is not None and match.group(1) in classes


def _is_private(name: str, names: frozenset[str], classes: frozenset[str]) -> bool:
    return name.startswith("_") and not name.endswith("__") and (name in names or _mangled(name, classes))


def reaches_in(source: str) -> list[tuple[int, str]]:
    """(line, what) for every touch of an aiortc/aioice private attribute in `source`."""
    names, classes = private_names()
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.endswith("__"):
            own = isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")
            if not own and _is_private(node.attr, names, classes):
                found.append((node.lineno, ast.unparse(node)))
        elif (
            isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ATTRIBUTE_CALLS
        ):
            name = node.args[1] if len(node.args) > 1 else None
            text = name.value if isinstance(name, ast.Constant) else None
            if isinstance(text, str) and _is_private(text, names, classes):
                found.append((node.lineno, ast.unparse(node)))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and _mangled(node.value, classes):
            found.append((node.lineno, repr(node.value)))  # a name-mangled attribute spelt out
    return sorted(set(found))


def test_the_check_sees_each_way_of_reaching_in() -> None:
    source = (
        "def f(pc, receiver, transport):\n"
        "    pc.sctp.transport._sack_needed\n"  # an attribute of an aiortc object
        "    getattr(receiver, '_RTCRtpReceiver__jitter_buffer')\n"  # name-mangled, by string
        "    setattr(transport, '_association_state', None)\n"  # by string
        "    prefix = '_RTCRtpSender__'\n"  # a mangled prefix to build names from
        "class Mine:\n"
        "    def g(self):\n"
        "        return self._sack_needed, self.sctp, pc.__dict__, other._our_own\n"
    )
    assert sorted({line for line, _ in reaches_in(source)}) == [2, 3, 4, 5]


def test_no_module_but_patches_touches_aiortc_or_aioice_internals() -> None:
    offences = []
    for path in sorted(ROOT.rglob("*.py")):
        if path in ALLOWED:
            continue
        for line, what in reaches_in(path.read_text(encoding="utf-8")):
            offences.append(f"{path.relative_to(ROOT.parent)}:{line}: {what}")
    where = "use (or add) a named function in emulator/net/transport/patches.py:\n"
    assert not offences, where + "\n".join(offences)


def test_patches_itself_is_where_the_internals_are_named() -> None:
    """The check is not vacuous: the allowed module does reach in."""
    assert reaches_in((ROOT / "net" / "transport" / "patches.py").read_text(encoding="utf-8"))
