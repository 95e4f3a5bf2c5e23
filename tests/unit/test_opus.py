from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.audio.tone import ToneSource
from emulator.net.media.opus import OpusEncoder, OpusSettings, OpusSettingsError, codec_floor_ms
from emulator.net.media.opus_decoder import OpusDecodeError, OpusDecoder, packet_samples
from tests.support.media import dominant_hz


def test_encoder_makes_mono_voice_packets_near_the_bitrate() -> None:
    enc = OpusEncoder(OpusSettings(bitrate=24_000))
    src = ToneSource(440)
    packets = [enc.encode(src.read(960)) for _ in range(100)]
    kbps = sum(map(len, packets)) * 8 / 2 / 1000
    assert 12 < kbps < 30
    assert all(not (p[0] & 0x04) for p in packets), "TOC stereo bit must be clear (mono)"
    dec = OpusDecoder()
    pcm = np.concatenate([dec.decode(p) for p in packets])
    assert abs(dominant_hz(pcm[4800:]) - 440) < 3


def test_bad_settings_are_refused() -> None:
    with pytest.raises(OpusSettingsError):
        OpusSettings(bitrate=1000)
    with pytest.raises(OpusSettingsError):
        OpusSettings(application="music")
    with pytest.raises(ValueError):
        OpusEncoder().encode(np.zeros(480, dtype=np.float32))


def test_fec_rebuilds_a_lost_speech_frame_better_than_concealment() -> None:
    t = np.arange(960 * 120) / 48_000
    voice = sum(np.sin(2 * np.pi * 150 * k * t) / k for k in range(1, 20)) * 0.1
    voice = (voice * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))).astype(np.float32)
    enc = OpusEncoder()
    packets = [enc.encode(voice[i * 960 : (i + 1) * 960]) for i in range(120)]
    fec_err, plc_err = [], []
    for lost in range(40, 110, 10):
        a, b, c = OpusDecoder(), OpusDecoder(), OpusDecoder()
        for p in packets[:lost]:
            a.decode(p), b.decode(p), c.decode(p)
        truth = c.decode(packets[lost])
        fec_err.append(np.sqrt(np.mean((a.recover(packets[lost + 1]) - truth) ** 2)))
        plc_err.append(np.sqrt(np.mean((b.conceal() - truth) ** 2)))
    assert np.mean(fec_err) < 0.8 * np.mean(plc_err)


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=1, max_size=400))
def test_decoder_survives_hostile_bytes(payload: bytes) -> None:
    dec = OpusDecoder()
    try:
        out = dec.decode(payload)
        assert out.shape == (960,) and np.all(np.isfinite(out))
    except OpusDecodeError:
        pass
    assert dec.conceal().shape == (960,)
    dec.close()
    dec.close()


def test_ten_ms_frames_encode_decode_and_conceal_as_ten_ms() -> None:
    settings = OpusSettings(frame_ms=10)
    assert settings.frame_samples == 480 and settings.application == "voip"  # FEC needs the voip mode
    enc, src = OpusEncoder(settings), ToneSource(440)
    packets = [enc.encode(src.read(480)) for _ in range(200)]
    assert {packet_samples(p) for p in packets} == {480}
    dec = OpusDecoder(frame_samples=480)
    pcm = np.concatenate([dec.decode(p) for p in packets])
    assert pcm.shape == (480 * 200,) and abs(dominant_hz(pcm[4800:]) - 440) < 3
    assert dec.conceal().shape == (480,) and dec.recover(packets[5]).shape == (480,)
    with pytest.raises(ValueError):
        enc.encode(np.zeros(960, dtype=np.float32))
    with pytest.raises(OpusSettingsError):
        OpusSettings(frame_ms=5)
    assert codec_floor_ms(10) == pytest.approx(16.5) and codec_floor_ms(20) == pytest.approx(26.5)
    assert packet_samples(b"") is None and packet_samples(b"\xff") is None  # a code-3 TOC with no count


def test_without_a_system_libopus_the_copy_in_pyav_s_wheel_decodes(monkeypatch: pytest.MonkeyPatch) -> None:
    from emulator.net.media import opus_decoder

    bundled = opus_decoder.pyav_libopus()
    if bundled is None:
        pytest.skip("this PyAV carries no libopus of its own (built against the system's)")
    monkeypatch.setattr(opus_decoder.ctypes.util, "find_library", lambda _name: None)
    opus_decoder._lib.cache_clear()
    try:
        assert opus_decoder.library_candidates()[0] == str(bundled)
        assert "av.libs" in str(bundled) or bundled.parent.name == "av"
        enc = OpusEncoder()
        src = ToneSource(440)
        dec = OpusDecoder()
        assert dec._lib._name == str(bundled)
        pcm = np.concatenate([dec.decode(enc.encode(src.read(960))) for _ in range(50)])
        assert abs(dominant_hz(pcm[4800:]) - 440) < 3
    finally:
        opus_decoder._lib.cache_clear()
