"""Keep the numbers a browser chose when the room renegotiates with it.

A browser that made the first offer chose the numbers: Chromium sends Opus as payload type 111 and
puts `ssrc-audio-level` at header extension id 1. aiortc numbers both its own way in every offer it
makes (Opus 96, `sdes:mid` 1, `ssrc-audio-level` 2). Chromium refuses an offer that gives an extension
id a new meaning ("RTP extension ID reassignment not supported"), and an offer that moves Opus to 96
makes Chromium send 96, which the room's receiver never registered (aiortc takes a receiver's codecs
once, from the first negotiation) — the browser's voice would stop at the room.

So before the room sets a renegotiation offer, every extension and every codec gets back the number
the session already gave it; an extension the session does not have yet gets an id nobody uses.
Between aiortc peers the numbers already agree and nothing changes.
"""

from __future__ import annotations

import re

from aiortc import RTCSessionDescription

_EXTMAP = re.compile(r"^a=extmap:(\d+)(/\S+)? (\S+)(.*)$")
_RTPMAP = re.compile(r"^a=rtpmap:(\d+) (\S+)$")
_PT_ATTRIBUTES = ("a=rtpmap:", "a=fmtp:", "a=rtcp-fb:")
MAX_ONE_BYTE_ID = 14


def _first_numbers(sdp: str, pattern: re.Pattern[str], number: int, key: int) -> dict[str, int]:
    found: dict[str, int] = {}
    for line in sdp.splitlines():
        match = pattern.match(line)
        if match:
            found.setdefault(match[key].lower(), int(match[number]))
    return found


def _extension_ids(lines: list[str], known: dict[str, int]) -> list[str]:
    used = set(known.values())
    fresh: dict[str, int] = {}
    result = []
    for line in lines:
        match = _EXTMAP.match(line)
        if match is None:
            result.append(line)
            continue
        uri = match[3]
        new_id = known.get(uri.lower()) or fresh.get(uri)
        if new_id is None:
            new_id = next(i for i in range(1, MAX_ONE_BYTE_ID + 1) if i not in used)
            used.add(new_id)
            fresh[uri] = new_id
        result.append(f"a=extmap:{new_id}{match[2] or ''} {uri}{match[4]}")
    return result


def _payload_types(lines: list[str], known: dict[str, int]) -> list[str]:
    ours = {int(m[1]): m[2].lower() for line in lines if (m := _RTPMAP.match(line))}
    taken = set(ours)
    mapping: dict[int, int] = {}
    for pt, codec in ours.items():
        target = known.get(codec)
        if target is not None and target != pt and target not in taken:
            mapping[pt] = target
            taken.add(target)
    if not mapping:
        return lines

    def renumber(pt: str) -> str:
        return str(mapping.get(int(pt), int(pt))) if pt.isdigit() else pt

    result = []
    for line in lines:
        if line.startswith("m="):
            fields = line.split(" ")
            line = " ".join(fields[:3] + [renumber(f) for f in fields[3:]])
        elif line.startswith(_PT_ATTRIBUTES):
            head, _, rest = line.partition(":")
            number, space, tail = rest.partition(" ")
            tail = re.sub(r"\bapt=(\d+)", lambda m: f"apt={renumber(m[1])}", tail)
            line = f"{head}:{renumber(number)}{space}{tail}"
        result.append(line)
    return result


def keep_negotiated_numbers(
    offer: RTCSessionDescription, session: RTCSessionDescription | None
) -> RTCSessionDescription:
    """`offer` with the extension ids and payload types `session` (the last remote description) uses."""
    if session is None:
        return offer
    lines = offer.sdp.split("\r\n")
    lines = _extension_ids(lines, _first_numbers(session.sdp, _EXTMAP, 1, 3))
    lines = _payload_types(lines, _first_numbers(session.sdp, _RTPMAP, 1, 2))
    return RTCSessionDescription("\r\n".join(lines), offer.type)
