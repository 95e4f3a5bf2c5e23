"""The QA toolkit's pieces one at a time: the session file, the --net grammar and scheduler, the
Prometheus exposition."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.net.conditions import ConditionsError, Impairment, NetConditions, parse_conditions
from emulator.net.prometheus import Family, Histogram, parse_listen, render
from emulator.qa.recording import MAGIC, RecordingError, RecordingWriter, parse_recording, read_recording


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
