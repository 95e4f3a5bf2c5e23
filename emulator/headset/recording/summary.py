"""`headset-emulator recording info FILE`: who a recording holds, for how long, and what each sent."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from emulator.headset.recording.sessionfile import Participant, Recording
from emulator.wire import State, Visemes, WireError, parse_message

FRAME_S = 0.020  # one Opus packet in a recording is a 20 ms frame


@dataclass
class Carried:
    states: int = 0
    poses: int = 0
    faces: int = 0
    hands: int = 0
    visemes: int = 0
    unreadable: int = 0


def carried(participant: Participant) -> Carried:
    """What this participant's recorded state messages carry (pose, face, hands, visemes)."""
    found = Carried()
    for _, data in participant.states:
        try:
            message = parse_message(data)
        except WireError:
            found.unreadable += 1
            continue
        if isinstance(message, State):
            found.states += 1
            found.poses += message.pose is not None
            found.faces += message.face is not None
            found.hands += message.left_hand is not None or message.right_hand is not None
        elif isinstance(message, Visemes):
            found.visemes += 1
    return found


def _span(participant: Participant) -> tuple[float, float] | None:
    times = [t for items in (participant.states, participant.audio) for t, _ in items]
    return (min(times), max(times)) if times else None


def describe(recording: Recording) -> list[str]:
    """One line for the file, then one per participant: span, duration, what it carries."""
    header: dict[str, Any] = recording.header
    ends = [span for p in recording.participants.values() if (span := _span(p)) is not None]
    length = max((end for _, end in ends), default=0.0)
    lines = [
        f"recorded {header.get('created', '?')} by {header.get('name', '?')!r} in room "
        f"{header.get('room', '?')!r}: {len(recording.participants)} participants, {length:.1f} s, "
        f"{len(recording.events)} join/leave events"
        + (" (the file ends early: truncated)" if recording.truncated else "")
    ]
    for participant in sorted(recording.participants.values(), key=lambda p: (not p.local, p.name)):
        span = _span(participant)
        what = carried(participant)
        parts = [f"{what.states} states ({what.poses} pose, {what.faces} face, {what.hands} hands)"]
        if what.visemes:
            parts.append(f"{what.visemes} viseme messages")
        if participant.audio:
            parts.append(f"{len(participant.audio) * FRAME_S:.1f} s of voice")
        else:
            parts.append("no voice")
        if what.unreadable:
            parts.append(f"{what.unreadable} unreadable")
        when = (
            "nothing recorded"
            if span is None
            else f"{span[0]:.1f}-{span[1]:.1f} s ({span[1] - span[0]:.1f} s)"
        )
        local = ", the recording headset" if participant.local else ""
        who = f"{participant.name!r} (id {participant.id!r}{local})"
        lines.append(f"  {who}, {participant.profile or '?'}: {when}: {', '.join(parts)}")
    return lines
