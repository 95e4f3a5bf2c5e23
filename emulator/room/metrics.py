"""The room's Prometheus metrics (`room --metrics HOST:PORT`), read from the running `RoomServer`.

Read-only: it looks at the cores (participants, states forwarded), the relays (Opus packets and bytes
forwarded per speaker) and each participant's peer connection stats (what aiortc's RTCP reports:
inbound loss and jitter, remote round trip). Bitrates are Prometheus counters of bytes (`rate()` them)
plus a gauge computed between scrapes for dashboards without PromQL. The round-trip and jitter
histograms take one observation per new RTCP report seen at a scrape. Runs on the room's loop.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from emulator.net.prometheus import LATENCY_BUCKETS_S, Family, Histogram
from emulator.room.server import RoomServer


class RoomMetrics:
    def __init__(self, server: RoomServer) -> None:
        self.server = server
        self.round_trip = Histogram(
            "headset_room_round_trip_seconds", "RTCP round trip to each participant, per new report"
        )
        self.jitter = Histogram(
            "headset_room_inbound_jitter_seconds",
            "interarrival jitter of each participant's voice at the room, per new report",
            (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2),
        )
        self._seen_reports: dict[tuple[str, str], float] = {}
        self._last_bytes: dict[str, tuple[float, float]] = {}  # room → (time, bytes forwarded)
        self.buckets = LATENCY_BUCKETS_S

    async def collect(self) -> list[Family]:
        server = self.server
        participants = Family("headset_room_participants", "gauge", "participants in each room")
        states = Family("headset_room_states_forwarded_total", "counter", "state messages forwarded")
        dropped = Family("headset_room_messages_dropped_total", "counter", "state messages refused")
        joins = Family("headset_room_joins_total", "counter", "joins admitted")
        refusals = Family("headset_room_refusals_total", "counter", "joins refused")
        limits = [  # the limits on joined peers (SECURITY.md); each counts per room
            (Family("headset_room_messages_over_budget_total", "counter", "messages over a sender's budget"),
             "messages_over_budget"),
            (Family("headset_room_messages_malformed_total", "counter", "messages not v1 or impossible"),
             "messages_malformed"),
            (Family("headset_room_tracks_refused_total", "counter", "audio tracks from listen-only peers"),
             "tracks_refused"),
            (Family("headset_room_removals_rate_limited_total", "counter", "peers cut off over budget"),
             "removals_rate_limited"),
        ]  # fmt: skip
        audio_packets = Family(
            "headset_room_audio_packets_forwarded_total", "counter", "Opus packets relayed"
        )
        audio_bytes = Family(
            "headset_room_audio_bytes_forwarded_total", "counter", "Opus payload bytes relayed"
        )
        bitrate = Family("headset_room_audio_bitrate_bps", "gauge", "Opus payload bit rate into each room")
        state_rate = Family(
            "headset_room_participant_states_total", "counter", "state messages forwarded per participant"
        )
        now = time.monotonic()
        for name, core in list(server.rooms.items()):
            room = {"room": name}
            participants.add(len(core), room)
            states.add(core.stats.states_forwarded, room)
            dropped.add(core.stats.messages_dropped, room)
            joins.add(core.stats.joins, room)
            refusals.add(core.stats.refusals, room)
            for family, stat in limits:
                family.add(getattr(core.stats, stat), room)
            for p in core.participants.values():
                state_rate.add(p.states_forwarded, {**room, "participant": p.info.id})
            audio = server.audio.get(name)
            total = 0
            if audio is not None:
                for speaker, relay in audio.voices.items():
                    who = {**room, "participant": audio.identities.get(speaker, speaker)}
                    audio_packets.add(relay.frames_published, who)
                    audio_bytes.add(relay.bytes_published, who)
                    total += relay.bytes_published
            previous = self._last_bytes.get(name)
            if previous is not None and now > previous[0] and total >= previous[1]:
                bitrate.add(8 * (total - previous[1]) / (now - previous[0]), room)
            self._last_bytes[name] = (now, total)
        loss = Family("headset_room_inbound_packets_lost", "gauge", "voice packets lost on the way in")
        received = Family("headset_room_inbound_packets_total", "counter", "voice packets received")
        jitter = Family("headset_room_inbound_jitter_seconds_last", "gauge", "latest voice jitter")
        rtt = Family("headset_room_round_trip_seconds_last", "gauge", "latest RTCP round trip")
        for conn in list(server.connections.values()):
            if conn.pc is None or conn.room is None or conn.closed:
                continue
            room_core = server.rooms.get(conn.room)
            member = room_core.participant(conn.conn_id) if room_core else None
            labels = {"room": conn.room, "participant": member.info.id if member else conn.conn_id}
            stats: Any = None
            with contextlib.suppress(Exception):
                stats = await conn.pc.getStats()
            if stats is None:
                continue
            for report in stats.values():
                kind = getattr(report, "type", "")
                key = (conn.conn_id, report.id)
                fresh = self._seen_reports.get(key) != report.timestamp.timestamp()
                self._seen_reports[key] = report.timestamp.timestamp()
                if kind == "inbound-rtp" and getattr(report, "kind", "") == "audio":
                    received.add(report.packetsReceived, labels)
                    loss.add(report.packetsLost, labels)
                    seconds = report.jitter / 48_000 if report.jitter is not None else None
                    jitter.add(seconds, labels)
                    if fresh and seconds is not None:
                        self.jitter.observe(seconds)
                elif kind == "remote-inbound-rtp" and report.roundTripTime is not None:
                    rtt.add(report.roundTripTime, labels)
                    if fresh:
                        self.round_trip.observe(report.roundTripTime)
        live = {(c.conn_id) for c in server.connections.values()}
        self._seen_reports = {k: v for k, v in self._seen_reports.items() if k[0] in live}
        connections = Family("headset_room_connections", "gauge", "open signaling connections").add(
            len(server.connections)
        )
        edge = Family(
            "headset_room_edge_refusals_total", "counter", "requests and messages refused at the edge"
        )
        edge.add(server.signaling_dropped, {"reason": "bad-signaling"})
        edge.add(server.pending.refused, {"reason": "too-many-pending"})
        edge.add(server.connects.refused, {"reason": "connect-rate"})
        edge.add(server.guard.refused, {"reason": "host-or-origin"})
        pending = Family("headset_room_pending_connections", "gauge", "connections not joined yet").add(
            len(server.pending)
        )
        late = Family(
            "headset_room_loop_late_seconds_total", "counter", "how late the room's twice-a-second tick ran"
        ).add(server.loop_late_s)
        longest = Family(
            "headset_room_loop_longest_late_seconds", "gauge", "the latest any tick ran since the start"
        ).add(server.loop_longest_late_s)
        return [
            connections, pending, edge, late, longest, participants, joins, refusals, states, dropped,
            state_rate, audio_packets, audio_bytes, bitrate, received, loss, jitter, rtt,
            self.round_trip.family(), self.jitter.family(), *(family for family, _ in limits),
        ]  # fmt: skip
