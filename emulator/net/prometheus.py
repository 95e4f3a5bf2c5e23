"""Prometheus metrics by hand: the text exposition format (0.0.4) and a tiny aiohttp server for it.

Why no client library: what the room, the swarm and the probe expose is a few dozen series read from
objects they already keep, so a collector function that returns `Family` values at scrape time is all
that is needed, and nothing is added to the dependencies. Histograms keep their counts here.
Everything runs on the asyncio loop that serves the metrics.
"""

from __future__ import annotations

import bisect
import inspect
import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from aiohttp import web

from emulator.net.http_guard import HEADER_TIMEOUT_S, HttpGuard

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS_S = (0.005, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0, 2.0, 5.0)

Labels = dict[str, str]


@dataclass
class Family:
    """One metric name: its type, help and samples (suffix, labels, value)."""

    name: str
    kind: str  # counter, gauge, histogram
    help: str
    samples: list[tuple[str, Labels, float]] = field(default_factory=list)

    def add(self, value: float | None, labels: Labels | None = None, suffix: str = "") -> Family:
        if value is not None:
            self.samples.append((suffix, labels or {}, float(value)))
        return self


class Histogram:
    """Cumulative bucket counts of observed values (seconds), by label set."""

    def __init__(self, name: str, help: str, buckets: Sequence[float] = LATENCY_BUCKETS_S) -> None:
        self.name = name
        self.help = help
        self.buckets = tuple(sorted(buckets))
        self._series: dict[tuple[tuple[str, str], ...], tuple[list[int], list[float]]] = {}

    def observe(self, value: float, labels: Labels | None = None) -> None:
        if not math.isfinite(value):
            return
        key = tuple(sorted((labels or {}).items()))
        counts, total = self._series.setdefault(key, ([0] * (len(self.buckets) + 1), [0.0]))
        counts[bisect.bisect_left(self.buckets, value)] += 1
        total[0] += value

    def family(self) -> Family:
        family = Family(self.name, "histogram", self.help)
        for key, (counts, total) in self._series.items():
            labels = dict(key)
            running = 0
            for bound, count in zip((*self.buckets, math.inf), counts, strict=True):
                running += count
                family.add(running, {**labels, "le": _number(bound)}, "_bucket")
            family.add(total[0], labels, "_sum")
            family.add(running, labels, "_count")
        return family


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def render(families: Sequence[Family]) -> str:
    """The text exposition of `families` (empty ones still declare their type)."""
    lines: list[str] = []
    for family in families:
        lines.append(f"# HELP {family.name} {_escape(family.help)}")
        lines.append(f"# TYPE {family.name} {family.kind}")
        for suffix, labels, value in family.samples:
            label_text = ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())
            name = family.name + suffix
            lines.append(
                f"{name}{{{label_text}}} {_number(value)}" if label_text else f"{name} {_number(value)}"
            )
    return "\n".join(lines) + "\n"


Collector = Callable[[], Sequence[Family] | Awaitable[Sequence[Family]]]


class MetricsServer:
    """Serves `GET /metrics` from `collect()` on HOST:PORT (port 0: any free one, read `port` after)."""

    def __init__(self, collect: Collector, host: str = "127.0.0.1", port: int = 9108) -> None:
        self.collect = collect
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None
        # No page of its own: any Origin is a foreign page, and on loopback Host must be ours.
        self.guard = HttpGuard(host, same_origin=False)

    async def start(self) -> None:
        app = web.Application(middlewares=[self.guard.middleware])
        app.router.add_get("/metrics", self.handle)
        self._runner = web.AppRunner(
            app, handle_signals=False, access_log=None, keepalive_timeout=HEADER_TIMEOUT_S
        )
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        if self.port == 0:
            self.port = self._runner.addresses[0][1]
        self.guard.port = self.port

    async def handle(self, request: web.Request) -> web.Response:
        """Also usable as a route on another aiohttp app (the room's own port)."""
        families = self.collect()
        if inspect.isawaitable(families):
            families = await families
        return web.Response(body=render(families).encode(), headers={"Content-Type": CONTENT_TYPE})

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/metrics"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


def parse_listen(text: str, default_port: int = 9108) -> tuple[str, int]:
    """`HOST:PORT`, `:PORT` or `PORT` → (host, port), loopback unless a host is given."""
    host, sep, port = text.rpartition(":")
    if not sep:
        host, port = "", text
    host = host.strip("[]") or "127.0.0.1"
    try:
        number = int(port) if port else default_port
    except ValueError:
        raise ValueError(f"expected HOST:PORT, got {text!r}") from None
    if not 0 <= number <= 65535:
        raise ValueError(f"port {number} is out of range")
    return host, number
