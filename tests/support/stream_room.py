"""A room for `StateStreamCore`s on a simulated clock: no sockets, no loop, exact delays.

Each core has a clock of its own (the shared time plus its skew); a datagram from one core to another
arrives after that direction's delay. In between, the room does what `RoomCore` does to the state
stream: it stamps each message with its sender's number, hands an addressed PONG to its asker only
and passes everything else to everyone else, one message per datagram.
"""

from __future__ import annotations

import heapq
import itertools
import math
from dataclasses import dataclass, field

from emulator.headset.stream import Outgoing, StateStreamCore
from emulator.model.pose import Pose
from emulator.wire import pong_recipient, stamp_datagram
from emulator.wire.signaling import ParticipantInfo

POSE = Pose.at(0.0, 1.6, 0.0)


@dataclass
class Member:
    core: StateStreamCore
    number: int
    skew_s: float = 0.0  # its clock minus the shared one
    delivered: list[bytes] = field(default_factory=list)  # every message handed to it, as the room sent it


class SimRoom:
    def __init__(self, default_delay_s: float = 0.005) -> None:
        self.members: dict[int, Member] = {}
        self.delays: dict[tuple[int, int], float] = {}  # (from, to) → seconds
        self.default_delay_s = default_delay_s
        self.now = 0.0  # the shared clock
        self._in_flight: list[tuple[float, int, int, bytes]] = []
        self._order = itertools.count()

    def join(self, number: int, core: StateStreamCore, skew_s: float = 0.0) -> Member:
        """`core` joins as participant `number`; everyone learns of everyone (as signaling would say)."""
        member = self.members[number] = Member(core, number, skew_s)
        for other in self.members.values():
            if other is not member:
                other.core.remote_joined(_info(number))
                core.remote_joined(_info(other.number))
        return member

    def local(self, member: Member) -> float:
        return self.now + member.skew_s

    def send(self, member: Member, outgoing: list[Outgoing]) -> None:
        for out in outgoing:
            member.core.sent(out, self.local(member))
            for message in stamp_datagram(out.data, member.number):
                to = pong_recipient(message)
                for number in [to] if to is not None else self.members:
                    if number != member.number and number in self.members:
                        delay = self.delays.get((member.number, number), self.default_delay_s)
                        item = (self.now + delay, next(self._order), number, message)
                        heapq.heappush(self._in_flight, item)

    def run_until(self, until: float) -> None:
        """Deliver datagrams and serve each core's deadlines (a STATE sampled when due) in time order."""
        while True:
            arrival = self._in_flight[0][0] if self._in_flight else math.inf
            member, deadline, local = self._next_deadline()
            if min(arrival, deadline) > until:
                break
            if arrival <= deadline:
                self.now, _, number, message = heapq.heappop(self._in_flight)
                receiver = self.members[number]
                receiver.delivered.append(message)
                receiver.core.feed(message, self.local(receiver))
                self.send(receiver, receiver.core.poll(self.local(receiver)))
            else:
                assert member is not None
                self.now = deadline  # `local` is the core's own deadline, exactly
                if member.core.state_due(local) is not None:
                    member.core.send_state(POSE, None, at=local)
                self.send(member, member.core.poll(local))
        self.now = until

    def _next_deadline(self) -> tuple[Member | None, float, float]:
        """The member due first, when on the shared clock, and when on its own."""
        best: tuple[Member | None, float, float] = (None, math.inf, math.inf)
        for member in self.members.values():
            deadline = member.core.next_deadline()
            if deadline is not None and deadline - member.skew_s < best[1]:
                best = (member, deadline - member.skew_s, deadline)
        return best


def _info(number: int) -> ParticipantInfo:
    return ParticipantInfo(id=f"p{number}", number=number, name=f"p{number}", profile="visionpro")
