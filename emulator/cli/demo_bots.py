"""The demo's room and its talking bots: who stands where, and starting and stopping them together.

`demo` runs this in a child process (`demo_room.py`) or, for the benchmark's comparison, on a thread
of the app; `self-test` and the app-crowd benchmark run it directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import secrets
from dataclasses import dataclass, field
from typing import Any

from emulator.audio.factory import AudioSpec
from emulator.drive.faces import FaceSpec
from emulator.drive.motions import MotionSpec
from emulator.headset import Headset, HeadsetConfig, HeadsetError
from emulator.model.pose import Pose

ROOM = "demo"


@dataclass(frozen=True)
class BotPlan:
    name: str
    angle_deg: float  # where it starts around the user; 0 is straight ahead, positive to the right
    radius_m: float
    period_s: float
    arc_deg: float = 24.0  # how far along its circle round the user it paces to and fro


# Close enough that a face reads on a laptop screen (each bust ≥ 1% of the view, tests/gui), not so
# close that they crowd the user; they pace outwards first, so they stay apart and in view.
BOTS = (BotPlan("Ada", -24.0, 1.6, 40.0), BotPlan("Grace", 26.0, 1.7, 55.0))
NAMES = ("Alan", "Barbara", "Edsger", "Frances", "Donald", "Radia")
MAX_BOTS = len(BOTS) + len(NAMES)


def bot_plans(count: int) -> list[BotPlan]:
    """The two demo bots, then more (for the frame-rate benchmark) spread over the view ahead."""
    extra = [
        BotPlan(name, -50.0 + 100.0 * i / max(1, len(NAMES) - 1), 2.2 + 0.4 * (i % 2), 60.0 + 5 * i)
        for i, name in enumerate(NAMES)
    ]
    return [*BOTS, *extra][:count]


def bot_config(url: str, secret: str, plan: BotPlan) -> HeadsetConfig:
    """A bot standing `radius` from the user at `angle`, facing the user, pacing along that circle."""
    a = math.radians(plan.angle_deg)
    x, z = plan.radius_m * math.sin(a), -plan.radius_m * math.cos(a)
    # A yaw θ looks along (-sin θ, -cos θ); the user is along (-x, -z) from here.
    facing_user = math.degrees(math.atan2(x, z))
    # Outwards first: seen from the bot, its left is away from the middle when it stands on the right.
    turn = "cw" if plan.angle_deg >= 0 else "ccw"
    return HeadsetConfig(
        url=url,
        room=ROOM,
        name=plan.name,
        placement=Pose.at(x, 1.6, z, facing_user),
        motion=MotionSpec.parse(
            f"orbit:radius={plan.radius_m},period={plan.period_s},arc={plan.arc_deg},turn={turn}"
        ),
        face=FaceSpec.parse("talk"),
        audio=AudioSpec.parse("silence"),
        marker_period_s=0.0,  # a chirp every 2 s would spoil the speech
        secret=secret,
    )


@dataclass
class Demo:
    """The room and the bots; `stop()` ends both."""

    bots: int = 2
    secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    room: Any = None
    headsets: list[Headset] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return str(self.room.url)

    async def start(self) -> None:
        from emulator.room.server import RoomServer

        self.room = RoomServer(self.secret.encode(), "127.0.0.1", 0)
        await self.room.start()
        # All at once: one after the other, each join's handshakes made 8 bots take half a minute.
        plans = list(enumerate(bot_plans(self.bots), start=1))
        started = await asyncio.gather(
            *(self._start_bot(i, plan) for i, plan in plans), return_exceptions=True
        )
        self.headsets.extend(bot for bot in started if isinstance(bot, Headset))
        for outcome in started:
            if isinstance(outcome, BaseException):
                raise outcome

    async def _start_bot(self, index: int, plan: BotPlan) -> Headset:
        from emulator.audio.espeak import SpeechError
        from emulator.headset.bot import talking_bot

        config = bot_config(self.url, self.secret, plan)
        try:
            bot = talking_bot(config, index)
        except SpeechError as error:
            self.notes.append(f"{plan.name} moves its lips silently: {error}")
            bot = Headset(config)
        try:
            await bot.start()
        except HeadsetError:
            await bot.stop()
            raise
        return bot

    async def stop(self) -> None:
        for headset in self.headsets:
            with contextlib.suppress(Exception):
                await headset.stop()
        self.headsets.clear()
        if self.room is not None:
            await self.room.stop()
            self.room = None
