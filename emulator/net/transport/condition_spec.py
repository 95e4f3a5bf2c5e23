"""A network's conditions as values: fixed presets, time-varying programs and the `--net` parser.

`--net good|wifi|4g|lossy|commute|cafe-wifi|custom:loss=5%,burst=4,delay=80ms,jitter=30ms,rate=300kbps,
reorder=1%,duplicate=1%` names the conditions (docs/network-conditions.md says what each means);
`conditions.py` applies them to a connection's datagrams.

A time-varying preset is a program: an endless run of (seconds, conditions) segments drawn from a
seeded generator, so the same `--net-seed` replays the same handovers at the same times
(`schedules.py` replays one). The figures are typical, not measured on one network: an LTE handover
interrupts the radio link for 50–300 ms and the new cell starts worse; a busy café's Wi-Fi loses
packets in runs when others transmit and its queue fills (bufferbloat) for a second or so at a time.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any


class ConditionsError(ValueError):
    """A network conditions spec that does not parse; names it and says which part."""


@dataclass(frozen=True)
class NetConditions:
    name: str = "good"
    loss: float = 0.0  # fraction of datagrams lost, each direction
    delay_s: float = 0.0  # one-way
    jitter_s: float = 0.0  # ± uniform around the delay
    rate_bps: float | None = None  # each direction; None: unlimited
    burst: float | None = None  # mean run of lost packets (Gilbert-Elliott); None: independent losses
    reorder: float = 0.0  # fraction held back so that later datagrams overtake it
    duplicate: float = 0.0  # fraction delivered twice
    varying: str | None = None  # a time-varying program (PROGRAMS, below); these fields start it

    @property
    def clean(self) -> bool:
        return (
            self.loss == 0
            and self.delay_s == 0
            and self.jitter_s == 0
            and self.rate_bps is None
            and self.reorder == 0
            and self.duplicate == 0
            and self.varying is None
        )

    def describe(self) -> str:
        rate = "unlimited" if self.rate_bps is None else f"{self.rate_bps / 1000:g}kbps"
        burst = "" if self.burst is None or self.loss == 0 else f" burst={self.burst:g}"
        text = (
            f"{self.name}: loss={self.loss * 100:g}%{burst} delay={self.delay_s * 1000:g}ms "
            f"jitter={self.jitter_s * 1000:g}ms rate={rate}"
        )
        if self.reorder:
            text += f" reorder={self.reorder * 100:g}%"
        if self.duplicate:
            text += f" duplicate={self.duplicate * 100:g}%"
        if self.varying is not None:
            text += f", varying: {PROGRAMS[self.varying].summary}"
        return text

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "loss": self.loss,
            "burst": self.burst,
            "delay_ms": self.delay_s * 1000,
            "jitter_ms": self.jitter_s * 1000,
            "rate_bps": self.rate_bps,
            "reorder": self.reorder,
            "duplicate": self.duplicate,
            "varying": self.varying,
            **({"varying_why": "fixed conditions"} if self.varying is None else {}),
        }


PRESETS: dict[str, NetConditions] = {
    "good": NetConditions("good"),
    "wifi": NetConditions("wifi", loss=0.005, delay_s=0.010, jitter_s=0.005, rate_bps=20e6),
    "4g": NetConditions("4g", loss=0.01, delay_s=0.045, jitter_s=0.015, rate_bps=4e6),
    "lossy": NetConditions("lossy", loss=0.10, delay_s=0.040, jitter_s=0.020, rate_bps=1e6),
    "commute": NetConditions(
        "commute", loss=0.01, delay_s=0.045, jitter_s=0.015, rate_bps=4e6, varying="commute"
    ),
    "cafe-wifi": NetConditions(
        "cafe-wifi", loss=0.01, burst=2.0, delay_s=0.015, jitter_s=0.010, rate_bps=10e6, varying="cafe-wifi"
    ),
}

_QUANTITY = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*([a-z%]*)\s*$")
_UNITS = {
    "loss": {"%": 0.01, "": 1.0},
    "delay": {"ms": 1e-3, "s": 1.0, "": 1e-3},
    "jitter": {"ms": 1e-3, "s": 1.0, "": 1e-3},
    "rate": {"bps": 1.0, "kbps": 1e3, "mbps": 1e6, "": 1e3},
    "burst": {"": 1.0, "packets": 1.0},
    "reorder": {"%": 0.01, "": 0.01},
    "duplicate": {"%": 0.01, "": 0.01},
}


def parse_conditions(spec: str) -> NetConditions:
    """A preset name or `custom:key=value,…` (loss in % or a fraction, burst in packets, delay/jitter
    in ms or s, rate in bps/kbps/mbps, reorder/duplicate in %); ConditionsError names what is wrong."""
    text = spec.strip().lower()
    if text in PRESETS:
        return PRESETS[text]
    kind, _, rest = text.partition(":")
    if kind != "custom":
        raise ConditionsError(f"unknown network {spec!r}; use {', '.join(PRESETS)} or custom:loss=5%,...")
    values: dict[str, float] = {}
    for item in filter(None, (part.strip() for part in rest.split(","))):
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or key not in _UNITS:
            raise ConditionsError(
                f"network {spec!r}: expected one of {', '.join(_UNITS)} (key=value), got {item!r}"
            )
        match = _QUANTITY.match(value)
        if match is None or match.group(2) not in _UNITS[key]:
            units = ", ".join(u for u in _UNITS[key] if u) or "none"
            raise ConditionsError(
                f"network {spec!r}: {key}={value.strip()} is not a number with a unit ({units})"
            )
        values[key] = float(match.group(1)) * _UNITS[key][match.group(2)]
    loss = values.get("loss", 0.0)
    if loss > 1 and "%" not in rest:
        loss /= 100  # "loss=5" means 5 %
    if not 0 <= loss < 1:
        raise ConditionsError(f"network {spec!r}: loss must be below 100%")
    if values.get("delay", 0) > 10 or values.get("jitter", 0) > 10:
        raise ConditionsError(f"network {spec!r}: delay and jitter must be under 10 s")
    rate = values.get("rate")
    if rate is not None and rate < 8000:
        raise ConditionsError(f"network {spec!r}: rate must be at least 8kbps")
    burst = values.get("burst")
    if burst is not None and burst < 1:
        raise ConditionsError(f"network {spec!r}: burst is a mean run of lost packets, at least 1")
    reorder, duplicate = values.get("reorder", 0.0), values.get("duplicate", 0.0)
    if reorder > 1 or duplicate > 1:
        raise ConditionsError(f"network {spec!r}: reorder and duplicate are at most 100%")
    delay, jitter = values.get("delay", 0.0), values.get("jitter", 0.0)
    return NetConditions("custom", loss, delay, jitter, rate, burst, reorder, duplicate)


Segments = Iterator[tuple[float, NetConditions]]


@dataclass(frozen=True)
class Program:
    summary: str  # one line for --help, the dock and describe()
    segments: Callable[[NetConditions, random.Random], Segments]


def _commute(base: NetConditions, rng: random.Random) -> Segments:
    while True:
        yield rng.uniform(15.0, 40.0), base  # on one cell
        yield rng.uniform(0.05, 0.3), replace(base, loss=1.0)  # the handover: nothing gets through
        worse = replace(base, loss=0.03, burst=3.0, delay_s=0.08, jitter_s=0.03, rate_bps=1.5e6)
        yield rng.uniform(1.0, 3.0), worse  # the new cell, before the link adapts


def _cafe_wifi(base: NetConditions, rng: random.Random) -> Segments:
    while True:
        yield rng.uniform(5.0, 20.0), base
        if rng.random() < 0.5:
            yield rng.uniform(1.0, 4.0), replace(base, loss=0.08, burst=5.0)  # others transmitting
        else:
            spike = replace(base, delay_s=rng.uniform(0.12, 0.3), jitter_s=0.05)
            yield rng.uniform(0.3, 1.5), spike  # the access point's queue fills


PROGRAMS: dict[str, Program] = {
    "commute": Program("4G with a handover every 15–40 s (50–300 ms outage, then a worse cell)", _commute),
    "cafe-wifi": Program("Wi-Fi with bursty loss and 120–300 ms delay spikes every 5–20 s", _cafe_wifi),
}
