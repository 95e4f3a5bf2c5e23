"""The short table `join` and `agent` print when they end: per remote, what was heard and how well."""

from __future__ import annotations

from typing import Any


def _direction(heard: dict[str, float] | None) -> str:
    """`left 30°, 2.1 m`: where this headset's ears placed the remote (azimuth counterclockwise)."""
    if not heard:
        return "-"
    azimuth = heard["azimuth_deg"]
    side = (
        "ahead"
        if abs(azimuth) < 5
        else "behind"
        if abs(azimuth) > 175
        else "left"
        if azimuth > 0
        else "right"
    )
    angle = "" if side in ("ahead", "behind") else f" {abs(azimuth):.0f}°"
    return f"{side}{angle}, {heard['distance_m']:.1f} m"


def _ms(summary: dict[str, Any] | None) -> str:
    if not summary:
        return "-"
    settled = summary.get("settled") or {}
    value = settled.get("median_ms") if settled.get("count") else summary.get("median_ms")
    return "-" if value is None else f"{value:.0f}"


def remote_table(report: dict[str, Any]) -> str:
    """Rows per remote: heard from, states received/lost, voice packets received/lost, settled
    underruns, median state latency and mouth-to-ear (settled when there are settled samples)."""
    header = ("remote", "heard from", "states", "lost", "voice pkts", "lost", "underruns", "latency", "m2e")
    rows = [header]
    for remote in report.get("remotes", []):
        states, audio = remote.get("states") or {}, remote.get("audio") or {}
        rows.append(
            (
                str(remote.get("name")),
                _direction(remote.get("heard_from")),
                str(states.get("received", 0)),
                str(states.get("lost", 0)),
                str(audio.get("packets_received", "-")),
                str(audio.get("packets_lost", "-")),
                str(audio.get("underruns_settled", "-")),
                _ms(states.get("latency")),
                _ms(remote.get("mouth_to_ear")),
            )
        )
    if len(rows) == 1:
        return "nobody else was in the room"
    widths = [max(len(row[k]) for row in rows) for k in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
    return "\n".join(lines) + "\n(latency and m2e: median ms after start-up; underruns: after start-up)"
