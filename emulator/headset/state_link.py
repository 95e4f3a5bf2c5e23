"""The state stream on the loop: runs `StateStreamCore` (`emulator.headset.stream`) over a session's
lossy data channel, samples the drivers when a STATE is due, and hands events to their subscribers.

All protocol decisions (rates, batching, PING/PONG, gaps) are the core's; this module only reads the
clock, sleeps until the core's next deadline and moves bytes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, Protocol

from emulator.drive.hands import Hands
from emulator.headset.events import EventHub
from emulator.headset.report import RemoteStats
from emulator.headset.stream import Due, StateStreamCore
from emulator.headset.ticks import wakeups
from emulator.model.errors import ModelError
from emulator.model.face import Face
from emulator.model.pose import Pose
from emulator.wire import VisemeEntry, WireError
from emulator.wire.signaling import ParticipantInfo


class Sampler(Protocol):
    """What a STATE is sampled from (the Headset: its drivers, its hands)."""

    def sample_drivers(self, with_face: bool = True) -> tuple[Pose, Face]: ...

    def sample_hands(self, now: float | None = None) -> Hands: ...


class Channel(Protocol):
    """The lossy data channel (a session): False when it is not open or is backed up."""

    def send_state(self, data: bytes) -> bool: ...


class StateLink:
    def __init__(
        self,
        core: StateStreamCore,
        sampler: Sampler,
        channel: Channel,
        hub: EventHub,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """The core's events go to `hub`; it builds only the kinds the hub has subscribers for."""
        self.core = core
        self.sampler = sampler
        self.channel = channel
        self.hub = hub
        self.clock = clock  # monotonic seconds; the core is given its readings
        hub.watch(self._wanted)

    def _wanted(self, kind: type[Any], wanted: bool) -> None:
        if wanted:
            self.core.want(kind)
        else:
            self.core.unwant(kind)

    def _dispatch(self) -> None:
        while (event := self.core.next_event()) is not None:
            self.hub.emit(event)

    # --- receiving ----------------------------------------------------------------------------

    def on_message(self, data: bytes) -> None:
        """A datagram from either data channel."""
        self.core.feed(data, self.clock())
        if self.core.has_output:  # a PONG that does not wait for a STATE
            self.flush()
        self._dispatch()

    def remote_joined(self, info: ParticipantInfo) -> None:
        self.core.remote_joined(info)
        self._dispatch()

    def remote_left(self, info: ParticipantInfo, reason: str) -> None:
        self.core.remote_left(info, reason)
        self._dispatch()

    # --- sending ------------------------------------------------------------------------------

    async def run(self, *, sending: bool = True) -> None:
        """PINGs once a second and, with `sending`, STATEs at the profile's rates, until cancelled;
        then PINGs still waiting for an answer get one at once."""
        self.core.start(self.clock(), sending=sending)
        # Each step runs from the loop's one timer for its instant (ticks.Wakeups), not in this task:
        # the task only waits, for its cancellation or a step's error.
        running: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        wake = wakeups()

        def step() -> None:
            if running.done():
                return  # stopped while this wake-up was due
            try:
                now = self.clock()
                due = self.core.state_due(now)
                if due is not None:
                    self._sample(due, now)
                self.flush()
                deadline = self.core.next_deadline()
            except Exception as error:  # `run` ends with it, as it did when the steps ran in its loop
                running.set_exception(error)
                return
            wake.at(deadline or now + 1.0, step, self.clock)

        try:
            step()
            await running
        finally:
            running.cancel()
            self.core.stop()
            self.flush()

    def _sample(self, due: Due, now: float) -> None:
        try:
            pose, face = self.sampler.sample_drivers(with_face=due.face)
            # Hands sampled at the STATE's own time: receivers can check them against the driver.
            hands = self.sampler.sample_hands(now) if due.hands else None
        except (WireError, ModelError) as error:
            self.core.skip_state(error)  # a driver's bad value skips one tick, never ends the stream
            return
        self.core.send_state(pose, face if due.face else None, hands, at=now)

    def send_state(
        self, pose: Pose | None, face: Face | None, hands: Hands | None = None, at: float | None = None
    ) -> None:
        """One STATE now (or stamped `at`, a `time.monotonic()` reading) outside the schedule."""
        self.core.send_state(pose, face, hands, at=self.clock() if at is None else at)
        self.flush()

    def send_ping(self) -> None:
        self.core.send_ping(self.clock())
        self.flush()

    def send_visemes(self, timestamp_us: int, entries: tuple[VisemeEntry, ...]) -> int:
        """One VISEMES message (a talking agent's); returns the bytes sent (0: none)."""
        out = self.core.visemes(timestamp_us, entries)
        if not self.channel.send_state(out.data):
            return 0
        self.core.sent(out, self.clock())
        return len(out.data)

    def flush(self) -> None:
        """Send what the core has ready; a datagram the channel refuses is dropped, not counted."""
        outgoing = self.core.poll(self.clock())
        if outgoing:
            sent = [out for out in outgoing if self.channel.send_state(out.data)]
            now = self.clock()
            for out in sent:
                self.core.sent(out, now)
            self._dispatch()

    # --- what others read ---------------------------------------------------------------------

    @property
    def remotes(self) -> dict[int, RemoteStats]:
        return self.core.remotes

    @property
    def states_sent(self) -> int:
        return self.core.uplink.states_sent

    @property
    def bytes_sent(self) -> int:
        return self.core.uplink.bytes_sent

    @property
    def packets_sent(self) -> int:
        return self.core.uplink.packets_sent

    def offset_for(self, participant_id: str) -> float | None:
        return self.core.offset_for(participant_id)

    def remote_reports(self) -> list[dict[str, Any]]:
        return self.core.remote_reports()

    def uplink_report(self) -> dict[str, Any]:
        return self.core.uplink_report()
