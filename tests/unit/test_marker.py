from __future__ import annotations

import numpy as np
import pytest

from emulator.audio.marker import MarkedSource, MarkerDetector, chirp, match_latencies
from emulator.audio.marker_schedule import ScheduledMarkerSource
from emulator.audio.tone import SilenceSource, ToneSource
from emulator.net.media.opus import OpusEncoder
from emulator.net.media.opus_decoder import OpusDecoder

OPUS_LOOKAHEAD_S = 312 / 48_000  # libopus voip encoder delay


def run_through_opus(
    playout_delay: float, offset: float, lost: frozenset[int] = frozenset()
) -> tuple[list[float], int]:
    """Frames read at sender time i·20 ms, played at receiver time i·20 ms + delay + offset."""
    clock = [0.0]
    src = MarkedSource(ToneSource(440), clock=lambda: clock[0])
    enc, dec, det = OpusEncoder(), OpusDecoder(), MarkerDetector()
    for i in range(400):
        clock[0] = (i + 1) * 0.02
        if i % 15 == 5:
            src.inject()
        packet = enc.encode(src.read(960))
        out = dec.conceal() if i in lost else dec.decode(packet)
        det.feed(out, i * 0.02 + playout_delay + offset)
    return match_latencies(src.injections, det.detections, offset=offset), len(src.injections)


@pytest.mark.parametrize("offset", [0.0, 12.5])
def test_marker_latency_through_opus_is_the_real_delay(offset: float) -> None:
    latencies, injected = run_through_opus(0.05, offset)
    assert len(latencies) >= injected - 1  # the last marker may still be playing when the run ends
    # Read at (i+1)·20 ms means spoken from i·20 ms: latency = playout delay + Opus lookahead.
    assert np.median(latencies) == pytest.approx(0.05 + OPUS_LOOKAHEAD_S, abs=0.0005)


def test_a_lost_marker_frame_does_not_make_a_false_detection() -> None:
    lost = frozenset(i for i in range(400) if i % 15 == 5)  # every frame that starts a marker
    latencies, _injected = run_through_opus(0.05, 0.0, lost=lost)
    # Two thirds of the chirp survive the concealed frame: found late by a few ms at most, never wild.
    assert latencies and all(abs(x - 0.05 - OPUS_LOOKAHEAD_S) < 0.008 for x in latencies)


def test_no_detection_in_a_tone_or_noise() -> None:
    det = MarkerDetector()
    rng = np.random.default_rng(0)
    tone = ToneSource(440)
    for i in range(200):
        det.feed(tone.read(960) + 0.05 * rng.standard_normal(960).astype(np.float32), i * 0.02)
    assert det.detections == []


def test_matching_uses_each_injection_once_and_ignores_strays() -> None:
    assert match_latencies([1.0, 2.0], [1.05, 1.5, 2.07]) == pytest.approx([0.05, 0.07])
    assert match_latencies([1.0], [0.9]) == []


def test_a_scheduled_chirp_due_while_the_sender_stalled_goes_out_late_not_never() -> None:
    clock = [0.0]
    source = ScheduledMarkerSource(SilenceSource(), 1.0, clock=lambda: clock[0])
    blocks = []
    # 20 ms reads on time from 0.5 s to 0.99 s, then a stall: the next read comes at 1.05 s (its
    # span 1.03-1.05 s), leaving 1.0 s, when a chirp is due, in no block's span.
    for end in [0.02 * i for i in range(26, 50)] + [0.99, 1.05, 1.06]:
        clock[0] = end
        blocks.append(source.read(960))
    assert source.injections == [1.0]
    late = blocks[-2]
    assert np.allclose(late[:480], chirp()[:480])  # at the start of the first block after the stall
    assert not np.any(np.concatenate(blocks[:-2]))
    # Read on time, a chirp lands where it is due: once per period, never twice.
    for i in range(54, 110):
        clock[0] = 0.02 * i
        source.read(960)
    assert source.injections == [1.0, 2.0]


@pytest.mark.parametrize("length", [1440, 2879, 3839, 4320, 5000])
def test_the_matched_filter_is_scipys_valid_correlation(length: int) -> None:
    """The detector keeps the template's spectrum per FFT length: the correlation must not change."""
    import scipy.signal

    det = MarkerDetector()
    data = np.random.default_rng(length).standard_normal(length)
    for _ in range(2):  # the second call uses the kept spectrum
        ours = det._correlate(data)
        theirs = scipy.signal.correlate(data, det._template, mode="valid", method="direct")
        assert ours.shape == theirs.shape
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-9)
