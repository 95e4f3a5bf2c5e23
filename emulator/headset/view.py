"""What the app, the tools and the command line read of a running headset, without reaching into
its parts: `Headset.view`. Every method reads; nothing here changes the headset."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from emulator.headset.events import AudioFigures, RemoteFigures, StatsSampled
from emulator.headset.report import LatencySamples, RemoteStats
from emulator.wire.signaling import ParticipantInfo, RoomMode

if TYPE_CHECKING:
    from emulator.headset.state_link import StateLink
    from emulator.headset.voice import Voice
    from emulator.net.signaling.connect import Session


class HeadsetView:
    def __init__(self, state_link: StateLink, voice: Voice, session: Session) -> None:
        self._link = state_link
        self._voice = voice
        self._session = session

    # --- the room ---------------------------------------------------------------------------------

    def room_mode(self) -> RoomMode | None:
        """The joined room's spatial mode (forward or binaural); None before the join."""
        return self._session.mode if self._session.me is not None else None

    def participants(self) -> list[ParticipantInfo]:
        return list(self._session.participants.values())

    def peer_connection(self) -> Any | None:
        """The session's RTCPeerConnection (to impair its transports), None when it has none."""
        return self._session.pc

    # --- figures ----------------------------------------------------------------------------------

    def remote_stats(self) -> Mapping[int, RemoteStats]:
        """Each remote's state-stream counters, by participant number (left ones keep theirs)."""
        return MappingProxyType(self._link.remotes)

    def round_trips_ms(self) -> list[float]:
        """The newest state-stream round trip to each remote that has answered a PING."""
        return [s.round_trip.values_ms[-1] for s in self._link.remotes.values() if s.round_trip.values_ms]

    def states_sent(self) -> int:
        return self._link.states_sent

    def bytes_sent(self) -> int:
        """State datagrams and encoded voice together, since the start."""
        fanout = self._voice.fanout
        return self._link.bytes_sent + (fanout.bytes_encoded if fanout is not None else 0)

    def audio_bytes_encoded(self) -> int:
        fanout = self._voice.fanout
        return fanout.bytes_encoded if fanout is not None else 0

    def remote_audio_reports(self) -> dict[str, dict[str, Any]]:
        """Per participant id: packets, loss, jitter, playout (speakers who left keep theirs)."""
        return self._voice.remote_audio_reports()

    def mouth_to_ear(self) -> Mapping[str, LatencySamples]:
        """Mouth-to-ear latencies measured from each speaker's chirps, by participant id."""
        return MappingProxyType(self._voice.mouth_to_ear)

    def underruns_so_far(self) -> int:
        return self._voice.underruns_so_far()

    def stats(self, now: float) -> StatsSampled:
        """The figures a `StatsSampled` event carries, taken at `now` (a `time.monotonic()` reading)."""
        audio = self._voice.remote_audio_reports()
        chirps = self._voice.mouth_to_ear
        remotes = tuple(
            RemoteFigures(
                participant_id=remote.id,
                name=remote.name,
                states_received=remote.states_received,
                states_lost=remote.states_lost,
                round_trip_ms=_newest(remote.round_trip),
                mouth_to_ear_ms=_newest(chirps.get(remote.id)),
                audio=_audio_figures(audio.get(remote.id)),
            )
            for remote in self._link.remotes.values()
        )
        return StatsSampled(now, self.bytes_sent(), self.states_sent(), remotes)

    # --- the voice it sends -----------------------------------------------------------------------

    def sends_voice(self) -> bool:
        """False for `audio none`: there is nothing to mute."""
        return self._voice.gate is not None

    def muted(self) -> bool:
        return self._voice.muted

    def listen_only(self) -> bool:
        """The room's token lets this headset listen but not send."""
        return self._voice.listen_only


def _newest(samples: LatencySamples | None) -> float | None:
    return samples.values_ms[-1] if samples is not None and samples.values_ms else None


def _audio_figures(report: dict[str, Any] | None) -> AudioFigures | None:
    if not report:
        return None
    return AudioFigures(
        packets_received=report["packets_received"],
        packets_lost=report["packets_lost"],
        payload_bytes=report["payload_bytes"],
        jitter_ms=report["jitter_ms"],
        playout_delay_ms=report["playout_delay_ms"],
        codec_floor_ms=report["codec_floor_ms"],
    )
