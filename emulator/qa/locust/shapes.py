"""Load shapes for a room: a join storm and steps. Import one into a locustfile to use it (Locust
runs the shape it finds there instead of `-u`/`-r`); subclass to change the numbers."""

from __future__ import annotations

from locust import LoadTestShape


class JoinStorm(LoadTestShape):
    """Everyone joins at once (spawn rate = users), stays `hold_s`, everyone leaves; `storms` times."""

    users = 24
    hold_s = 60.0
    pause_s = 15.0
    storms = 3

    def tick(self) -> tuple[int, float] | None:
        t = float(self.get_run_time())  # type: ignore[no-untyped-call]
        period = self.hold_s + self.pause_s
        if t >= self.storms * period:
            return None
        return (self.users, float(self.users)) if t % period < self.hold_s else (0, float(self.users))


class Steps(LoadTestShape):
    """`step_users` more users every `step_s` (joining at `spawn_rate` a second), up to `steps` steps,
    then held for `hold_s`: where the room, or the host, stops keeping up shows as a step."""

    step_users = 8
    step_s = 60.0
    steps = 4
    spawn_rate = 2.0
    hold_s = 60.0

    def tick(self) -> tuple[int, float] | None:
        t = float(self.get_run_time())  # type: ignore[no-untyped-call]
        if t >= self.steps * self.step_s + self.hold_s:
            return None
        step = min(self.steps, int(t // self.step_s) + 1)
        return step * self.step_users, self.spawn_rate
