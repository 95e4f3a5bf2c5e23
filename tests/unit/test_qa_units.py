"""The QA toolkit's pieces one at a time: the session file, the --net grammar and scheduler, the
Prometheus exposition."""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.audio.factory import AudioSpec
from emulator.audio.tone import ToneSource
from emulator.headset.recording.replay import ReplayAudioSource, Timeline, load_replay, replay_drivers
from emulator.headset.recording.sessionfile import (
    MAGIC,
    RecordingError,
    RecordingWriter,
    parse_recording,
    read_recording,
)
from emulator.model.face import Face
from emulator.model.pose import Pose
from emulator.net.media.opus import OpusEncoder, OpusSettings
from emulator.net.prometheus import Family, Histogram, parse_listen, render
from emulator.net.transport.condition_spec import ConditionsError, NetConditions, parse_conditions
from emulator.net.transport.conditions import Impairment
from emulator.qa.swarm import aggregate
from emulator.wire import FaceEncoder, FaceSet, State


def write_sample(path: Path) -> None:
    writer = RecordingWriter(path, {"room": "r", "profile": {"key": "visionpro"}})
    state = writer.declare("state", "p1", "alpha", profile="quest3")
    audio = writer.declare("audio", "p1", "alpha")
    writer.state(state, 1_000, b"\x40abc")
    writer.audio(audio, 20_000, b"opus")
    writer.event(5, {"event": "joined", "id": "p1", "name": "alpha"})
    writer.close()


def test_a_recording_reads_back_what_was_written(tmp_path: Path) -> None:
    path = tmp_path / "s.hemurec"
    write_sample(path)
    recording = read_recording(path)
    alpha = recording.find("alpha")
    assert recording.header["version"] == 1 and recording.header["room"] == "r"
    assert (
        alpha.profile == "quest3"
        and alpha.states == [(0.001, b"\x40abc")]
        and alpha.audio == [(0.02, b"opus")]
    )
    assert recording.events == [{"event": "joined", "id": "p1", "name": "alpha", "t": 5e-6}]
    assert alpha.start == 0.001 and not recording.truncated


def test_a_recording_cut_short_reads_up_to_its_last_whole_record(tmp_path: Path) -> None:
    path = tmp_path / "s.hemurec"
    write_sample(path)
    data = path.read_bytes()
    recording = parse_recording(data[:-3])
    assert recording.truncated and recording.find("alpha").audio == [(0.02, b"opus")]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"RIFF....", "not a headset-emulator session recording"),
        (MAGIC + b"\x00\x09\x00\x00\x00\x00", "version 9"),
        (MAGIC + b"\x00\x01\x00\x00\x00\x09{}", "cut short"),
        (MAGIC + b"\x00\x01\x00\x00\x00\x02[]", "not a JSON object"),
    ],
)
def test_a_bad_recording_is_refused_with_a_reason(data: bytes, message: str) -> None:
    with pytest.raises(RecordingError, match=message):
        parse_recording(data)


def test_asking_for_someone_not_recorded_names_who_is(tmp_path: Path) -> None:
    path = tmp_path / "s.hemurec"
    write_sample(path)
    with pytest.raises(RecordingError, match="holds: alpha"):
        read_recording(path).find("zulu")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_hostile_bytes_after_a_valid_header_never_crash_the_reader(tail: bytes) -> None:
    header = b'{"version": 1}'
    data = MAGIC + b"\x00\x01" + len(header).to_bytes(4, "big") + header + tail
    with contextlib.suppress(RecordingError):
        parse_recording(data)


def test_net_presets_and_custom_specs_parse() -> None:
    assert parse_conditions("good").clean
    assert parse_conditions("LOSSY").loss == 0.10
    custom = parse_conditions("custom:loss=5%,delay=80ms,jitter=30ms,rate=300kbps")
    assert (custom.loss, custom.delay_s, custom.jitter_s, custom.rate_bps) == pytest.approx(
        (0.05, 0.08, 0.03, 300_000)
    )
    assert parse_conditions("custom:loss=0.02").loss == pytest.approx(0.02)
    for bad in ("moon", "custom:loss=100%", "custom:delay=fast", "custom:colour=red", "custom:rate=1bps"):
        with pytest.raises(ConditionsError):
            parse_conditions(bad)


def test_the_scheduler_loses_the_set_fraction_and_spreads_delays() -> None:
    impairment = Impairment(NetConditions("t", loss=0.1, delay_s=0.05, jitter_s=0.02), seed=3)
    holds = [impairment.admit(100, i * 0.02) for i in range(5000)]
    kept = [h for h in holds if h is not None]
    assert 0.08 < 1 - len(kept) / len(holds) < 0.12
    assert min(kept) >= 0.03 - 1e-9 and max(kept) <= 0.07 + 1e-9
    assert max(kept) - min(kept) > 0.03  # jitter, so later datagrams can overtake earlier ones
    again = Impairment(NetConditions("t", loss=0.1, delay_s=0.05, jitter_s=0.02), seed=3)
    assert [again.admit(100, i * 0.02) for i in range(5000)] == holds  # the same seed, the same network


def test_the_token_bucket_paces_and_then_drops() -> None:
    impairment = Impairment(NetConditions("t", rate_bps=80_000), seed=0)
    holds = [impairment.admit(1000, 0.0) for _ in range(60)]  # 60 kB at once into a 10 kB/s link
    assert holds[0] == pytest.approx(0.1) and holds[1] == pytest.approx(0.2)
    assert holds[-1] is None and impairment.stats.queue_drops > 0


def test_prometheus_text_exposition() -> None:
    histogram = Histogram("x_seconds", "a histogram", (0.1, 1.0))
    for value in (0.05, 0.5, 5.0):
        histogram.observe(value, {"room": 'a"b'})
    text = render([Family("up", "gauge", "line\nbreak").add(1), histogram.family()])
    assert "# HELP up line\\nbreak\n# TYPE up gauge\nup 1\n" in text
    assert 'x_seconds_bucket{room="a\\"b",le="0.1"} 1' in text
    assert 'x_seconds_bucket{room="a\\"b",le="+Inf"} 3' in text
    assert 'x_seconds_count{room="a\\"b"} 3' in text and 'x_seconds_sum{room="a\\"b"} 5.55' in text
    assert parse_listen("127.0.0.1:9108") == ("127.0.0.1", 9108) and parse_listen(":9") == ("127.0.0.1", 9)
    with pytest.raises(ValueError):
        parse_listen("host:port")


def recorded_walk(path: Path, seconds: float = 2.0) -> None:
    """alpha walks along -z at 1 m/s (60 Hz states) speaking a 440 Hz tone; written as the recorder would."""
    writer = RecordingWriter(path, {"room": "r"})
    states = writer.declare("state", "a", "alpha", local=True, profile="quest3")
    voice = writer.declare("audio", "a", "alpha", local=True)
    encoder = OpusEncoder(OpusSettings(bitrate=32_000))
    tone = ToneSource(440.0)
    face = FaceEncoder(FaceSet.ARKIT52)
    for i in range(int(seconds * 60) + 1):
        t = i / 60
        update = face.update(Face.from_mapping({"jawOpen": 0.5})) if i % 2 == 0 else None
        message = State(seq=i + 1, sender=0, timestamp=i * 16_667, pose=Pose.at(0, 1.6, -t), face=update)
        writer.state(states, round(t * 1e6) + 100_000, bytes(message))
    for k in range(int(seconds * 50)):
        writer.audio(voice, 100_000 + (k + 1) * 20_000, encoder.encode(tone.read(960)))
    writer.close()


def test_a_replay_repeats_poses_faces_and_voice_on_one_timeline(tmp_path: Path) -> None:
    path = tmp_path / "walk.hemurec"
    recorded_walk(path)
    material = load_replay(read_recording(path), "alpha")
    assert material.participant.profile == "quest3"
    assert material.duration == pytest.approx(2.0, abs=0.03)
    drivers = replay_drivers(material, Timeline(material.duration), Pose())
    assert drivers.motion.sample(1.0).position.z == pytest.approx(-1.0, abs=0.002)
    assert drivers.motion.sample(9.0).position.z == pytest.approx(-2.0, abs=0.002)  # held at the end
    assert drivers.face.sample(0.5)["jawOpen"] == pytest.approx(0.5, abs=0.01)
    voice = ReplayAudioSource(material, Timeline(material.duration))
    heard = np.concatenate([voice.read(960) for _ in range(125)])  # 2.5 s of a 2 s recording
    assert abs(dominant_hz(heard[4800:48_000]) - 440) < 3
    assert np.abs(heard[-9600:]).max() == 0  # silence after the end without --loop

    fast = Timeline(material.duration, speed=2.0, loop=True)
    assert replay_drivers(material, fast, Pose()).motion.sample(0.5).position.z == pytest.approx(
        -1.0, abs=0.002
    )
    assert replay_drivers(material, fast, Pose()).motion.sample(1.5).position.z == pytest.approx(
        -1.0, abs=0.002
    )
    sped = ReplayAudioSource(material, fast)
    heard = np.concatenate([sped.read(960) for _ in range(100)])  # 2 s: two passes at double speed
    assert abs(dominant_hz(heard[4800:43_200]) - 880) < 6
    assert np.abs(heard[-24_000:]).max() > 0.1  # looped: still speaking in the second pass


def dominant_hz(samples: np.ndarray, rate: int = 48_000) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.argmax(spectrum) * rate / len(samples))


def test_a_replay_of_someone_silent_and_still_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.hemurec"
    writer = RecordingWriter(path, {})
    writer.declare("state", "q", "quiet")
    writer.close()
    with pytest.raises(RecordingError, match="sent nothing"):
        load_replay(read_recording(path), "quiet")


def _swarm_member(identity: str, others: dict[str, tuple[int, int]]) -> dict[str, object]:
    """A member's report: it sent 89.5 states/s; per remote (underruns, of them settled)."""
    return {
        "identity": identity,
        "name": identity,
        "duration_s": 10.0,
        "uplink": {"states_sent": 900, "state_rate_hz": 89.5},
        "remotes": [
            {
                "id": other,
                "states": {"rate_hz": 89.5, "latency": {"median_ms": 4.0}},
                "round_trip": {"median_ms": 6.0},
                "mouth_to_ear": {
                    "count": 3 if identity == "b" else 0,
                    "median_ms": 80.0 if identity == "b" else None,
                },
                "audio": {"packets_received": 500, "underruns": underruns, "underruns_settled": settled},
            }
            for other, (underruns, settled) in others.items()
        ],
    }


def test_the_swarm_report_tells_underruns_while_joining_from_settled_ones() -> None:
    reports = [_swarm_member("a", {"b": (3, 1)}), _swarm_member("b", {"a": (1, 0)})]
    unsettled = aggregate(reports, [])
    assert unsettled["audio"] == {
        "streams": 2, "underruns": 4, "underruns_startup": None, "underruns_settled": None,
        "underruns_settled_in_host_stalls": None,
        "why": "the swarm ended before it settled (3 s after the last join)",
    }  # fmt: skip
    stall = {"at_s": 1.0, "length_s": 0.1, "stolen_ms": 50}
    host = {"cpu_steal_ms": 50.0, "stalls": [stall], "underruns_in_stalls": 1}
    settled = aggregate(reports, [], True, host)
    assert settled["audio"] == {
        "streams": 2, "underruns": 4, "underruns_startup": 3, "underruns_settled": 1,
        "underruns_settled_in_host_stalls": 1,
    }  # fmt: skip
    assert settled["host"] == host
    # Against the rate the sender actually sent at, a pair that lost nothing reads exactly 1.0.
    assert settled["state_delivery"]["min_ratio"] == 1.0
    assert settled["measuring"] == {
        "member": "b", "mouth_to_ear_median_ms": 80.0, "mouth_to_ear_worst_ms": 80.0,
        "round_trip_median_ms": 6.0,
    }  # fmt: skip


def test_a_swarm_plan_split_among_workers_makes_the_same_headsets() -> None:
    from emulator.headset import HeadsetConfig
    from emulator.qa.swarm import SwarmPlan

    template = HeadsetConfig(url="ws://127.0.0.1:1/ws", room="r", name="t", audio=AudioSpec.parse("tone:440"))
    plan = SwarmPlan(template, 7, speakers=3)
    whole = plan.configs()
    shares = plan.split(3)
    assert [s.count for s in shares] == [3, 2, 2]
    parts = [config for share in shares for config in share.configs()]
    assert parts == whole
    assert [c.detect_markers for c in parts].count(True) == 1 and parts[-1].detect_markers
    assert [c.audio.text for c in parts] == ["tone:440"] * 3 + ["none"] * 4
    assert len(plan.split(20)) == 7
