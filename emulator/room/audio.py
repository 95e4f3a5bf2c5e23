"""Voice routing inside one room. Forward mode: each speaker's Opus packets go to every listener as
they arrived, never decoded or re-encoded. Binaural mode: every speaker goes into the room's
`BinauralMix` (`emulator/room/mix.py`) and each listener gets one transceiver carrying its own mix,
routed here as the speaker `MIX_OWNER` ("").

A speaker's receiver is tapped before aiortc's jitter buffer (`emulator/net/media/receive.py`) into a
`RelayFanout`, which offers each packet to one `EncodedAudioTrack` per listener. The same bytes go to
every listener, so a speaker costs one receive and N sends however many listen. Each listener's copy
leaves at once through a `DirectRtpSender` on its transceiver (`emulator/net/media/direct_send.py`), not
through aiortc's sender task. Runs on the loop's thread.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from aiortc import RTCPeerConnection, RTCRtpTransceiver

from emulator.net.media.direct_send import DirectRtpSender, SenderInternalsChanged
from emulator.net.media.fanout import EncodedAudioTrack, RelayFanout
from emulator.net.media.receive import tap_audio_receiver
from emulator.room.mix import BinauralMix
from emulator.wire.signaling import MIX_OWNER, RoomMode

log = logging.getLogger(__name__)


@dataclass
class ListenerRoutes:
    """The transceivers on one listener's peer connection and whose voice each carries."""

    by_speaker: dict[str, RTCRtpTransceiver] = field(default_factory=dict)
    tracks: dict[str, EncodedAudioTrack] = field(default_factory=dict)
    free: list[RTCRtpTransceiver] = field(default_factory=list)
    # One RTP stream per transceiver, whoever it carries: sequence numbers run on across remaps.
    direct: dict[int, DirectRtpSender] = field(default_factory=dict)  # by id(transceiver)


class RoomAudio:
    """Who hears whom in one room. Connections are the I/O layer's ids."""

    def __init__(self, room: str, mode: RoomMode, *, direct_send: bool = True) -> None:
        self.room = room
        self.mode = mode
        self.direct_send = direct_send  # False: every copy through aiortc's sender task (the stock path)
        self.mix = BinauralMix(room) if mode == RoomMode.BINAURAL else None
        self.voices: dict[str, RelayFanout] = {}
        self.listeners: dict[str, ListenerRoutes] = {}
        self.identities: dict[str, str] = {}  # conn → participant id, for the `tracks` message
        self.wanted: dict[str, set[str]] = {}  # speaker without audio yet → listeners waiting for it
        self._packets_seen: dict[str, int] = {}  # speaker → packets counted at the last `heard_since_last`

    def set_identity(self, conn: str, participant_id: str) -> None:
        self.identities[conn] = participant_id

    def heard_since_last(self) -> list[str]:
        """Speakers whose RTP arrived since the last call: a sign of life for the room's silence check,
        read at its tick (twice a second) instead of once per packet."""
        if self.mix is not None:
            counts = {conn: playout.stats.packets_received for conn, playout in self.mix.speakers.items()}
        else:
            counts = {conn: relay.frames_published for conn, relay in self.voices.items()}
        heard = [conn for conn, count in counts.items() if count > self._packets_seen.get(conn, 0)]
        self._packets_seen = counts
        return heard

    def has_voice(self, speaker: str) -> bool:
        return speaker in self.voices or (speaker == MIX_OWNER and self.mix is not None)

    def state_message(self, conn: str, data: bytes) -> None:
        """A participant's state-stream message: the binaural mix follows its pose."""
        if self.mix is not None:
            self.mix.on_state(conn, data)

    def want(self, listener: str, speaker: str) -> None:
        """`listener` should hear `speaker` once the speaker's audio arrives (it may never: listen-only)."""
        self.wanted.setdefault(speaker, set()).add(listener)

    def add_speaker(self, conn: str, receiver: Any, track: Any) -> list[str]:
        """The speaker's audio arrived: tap it (its packets are forwarded, never decoded here).

        Returns the listeners that were waiting for this voice; the caller subscribes them.
        In binaural mode the voice goes into the mix instead (decoded once) and nobody waits.
        """
        if self.mix is not None:
            self.mix.add_speaker(conn, receiver)
            return []
        if conn not in self.voices:
            self.voices[conn] = RelayFanout()
            tap_audio_receiver(receiver, self.voices[conn].push_rtp)
        return sorted(self.wanted.pop(conn, set()))

    def subscribe(self, listener: str, pc: RTCPeerConnection, speaker: str) -> str:
        """Route `speaker` to `listener`: "remap" if a free transceiver was reused, else "renegotiate".

        Only for a speaker whose voice has arrived (`has_voice`); otherwise `want` it.
        """
        routes = self.listeners.setdefault(listener, ListenerRoutes())
        if speaker in routes.by_speaker:
            return "none"
        track = (
            self.mix.subscribe(listener)
            if speaker == MIX_OWNER and self.mix is not None
            else self.voices[speaker].subscribe()
        )
        routes.tracks[speaker] = track
        if routes.free:
            transceiver = routes.free.pop()
            transceiver.sender.replaceTrack(track)
            routes.by_speaker[speaker] = transceiver
            self._send_directly(routes, transceiver, track)
            return "remap"
        transceiver = pc.addTransceiver(track, direction="sendonly")
        routes.by_speaker[speaker] = transceiver
        self._send_directly(routes, transceiver, track)
        return "renegotiate"

    def _send_directly(
        self, routes: ListenerRoutes, transceiver: RTCRtpTransceiver, track: EncodedAudioTrack
    ) -> None:
        if not self.direct_send:
            return
        direct = routes.direct.get(id(transceiver))
        if direct is None:
            try:
                direct = routes.direct[id(transceiver)] = DirectRtpSender(transceiver)
            except SenderInternalsChanged as error:
                log.warning("room %s: relaying audio through aiortc's sender task: %s", self.room, error)
                self.direct_send = False
                return
        track.send_directly(direct)

    def unsubscribe(self, listener: str, speaker: str) -> str:
        self.wanted.get(speaker, set()).discard(listener)
        routes = self.listeners.get(listener)
        if routes is None or speaker not in routes.by_speaker:
            return "none"
        transceiver = routes.by_speaker.pop(speaker)
        track = routes.tracks.pop(speaker)
        transceiver.sender.replaceTrack(None)
        track.stop()
        routes.free.append(transceiver)
        return "remap"

    def track_map(self, listener: str, pc: RTCPeerConnection) -> dict[str, str]:
        routes = self.listeners.get(listener)
        if routes is None:
            return {}
        return {
            t.mid: self.identities.get(speaker, speaker)
            for speaker, t in routes.by_speaker.items()
            if t.mid is not None
        }

    async def remove_participant(self, conn: str) -> None:
        if self.mix is not None:
            await self.mix.remove(conn)
        voice = self.voices.pop(conn, None)
        if voice is not None:
            await voice.stop()
        routes = self.listeners.pop(conn, None)
        if routes is not None:
            for track in routes.tracks.values():
                track.stop()
        self.identities.pop(conn, None)
        self.wanted.pop(conn, None)
        for waiting in self.wanted.values():
            waiting.discard(conn)

    async def stop(self) -> None:
        for conn in list(self.voices) + list(self.listeners):
            await self.remove_participant(conn)
        if self.mix is not None:
            await self.mix.stop()
