"""The ring between loop and callback, the silent and WAV backends, and choosing devices by spec."""

from __future__ import annotations

import threading
import wave
from pathlib import Path

import numpy as np
import pytest

from emulator.audio import devices
from emulator.audio.backends import SilentOutput, WavOutput
from emulator.audio.devices import DeviceError, DeviceInfo, open_input, open_output, resolve_device
from emulator.audio.factory import open_source
from emulator.audio.ring import SpscRing
from emulator.audio.tone import SilenceSource
from emulator.audio.wavfile import SourceError
from emulator.cli import main


def test_ring_wraps_around_and_keeps_order() -> None:
    ring = SpscRing(10, 2)
    frames = np.arange(32, dtype=np.float32).reshape(16, 2)
    assert ring.write(frames[:7]) == 7
    out = np.zeros((5, 2), dtype=np.float32)
    assert ring.read_into(out) == 5
    np.testing.assert_array_equal(out, frames[:5])
    assert ring.write(frames[7:16]) == 8  # only 8 fit: 2 still queued + 8 = capacity
    assert ring.writable() == 0 and ring.readable() == 10
    assert ring.discard(3) == 3
    out = np.zeros((9, 2), dtype=np.float32)
    assert ring.read_into(out) == 7
    np.testing.assert_array_equal(out[:7], frames[8:15])
    assert ring.read_into(out) == 0


def test_ring_between_two_threads_loses_and_reorders_nothing() -> None:
    ring = SpscRing(257, 1)
    total = 20_000
    source = np.arange(total, dtype=np.float32)[:, None]
    received = np.zeros((total, 1), dtype=np.float32)

    def produce() -> None:
        sent = 0
        while sent < total:
            sent += ring.write(source[sent : sent + 100])

    producer = threading.Thread(target=produce)
    producer.start()
    got = 0
    while got < total:
        got += ring.read_into(received[got : got + 64])
    producer.join()
    np.testing.assert_array_equal(received, source)


def test_wav_output_records_the_mix(tmp_path: Path) -> None:
    output = open_output(f"wav:{tmp_path / 'mix.wav'}")
    assert isinstance(output, WavOutput)
    block = np.zeros((480, 2), dtype=np.float32)
    block[:, 0] = 0.5
    block[:, 1] = -2.0  # clipped, and counted
    assert output.write(block) == 480
    output.write(block)
    output.close()
    output.close()
    assert output.clipped_samples == 960
    with wave.open(str(tmp_path / "mix.wav"), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate(), wav.getnframes()) == (
            2,
            2,
            48000,
            960,
        )
        pcm = np.frombuffer(wav.readframes(960), dtype="<i2").reshape(-1, 2)
    assert np.all(pcm[:, 0] == 16384) and np.all(pcm[:, 1] == -32767)
    with pytest.raises(ValueError, match="stereo"):
        SilentOutput().write(np.zeros(480, dtype=np.float32))


def test_silent_specs_and_bad_specs(tmp_path: Path) -> None:
    assert isinstance(open_output("silent"), SilentOutput)
    assert isinstance(open_input("none"), SilenceSource)
    assert np.all(open_input("silent").read(960) == 0)
    with pytest.raises(DeviceError, match="needs a file name"):
        open_output("wav:")
    with pytest.raises(DeviceError, match="cannot write"):
        open_output(f"wav:{tmp_path / 'missing-dir' / 'x.wav'}")
    with pytest.raises(DeviceError, match="a WAV is a source"):
        open_input("wav:voice.wav")


def _device(index: int, name: str, inputs: int, outputs: int) -> DeviceInfo:
    return DeviceInfo(index, name, "ALSA", inputs, outputs, 48000.0, index == 0, index == 0)


DEVICES = [
    _device(0, "pulse", 32, 32),
    _device(1, "USB Headset: Audio (hw:1,0)", 1, 2),
    _device(2, "HDMI 0 (hw:0,3)", 0, 8),
    _device(3, "HDMI 1 (hw:0,7)", 0, 8),
]


def test_devices_by_index_or_name() -> None:
    assert resolve_device("2", "output", DEVICES).name.startswith("HDMI 0")
    assert resolve_device("usb headset", "input", DEVICES).index == 1
    assert resolve_device("PULSE", "output", DEVICES).index == 0
    with pytest.raises(DeviceError, match="no input device with index 2"):
        resolve_device("2", "input", DEVICES)
    with pytest.raises(DeviceError, match="ambiguous"):
        resolve_device("hdmi", "output", DEVICES)
    with pytest.raises(DeviceError, match="no output device matches 'speakers'"):
        resolve_device("speakers", "output", DEVICES)
    with pytest.raises(DeviceError, match="no input devices"):
        resolve_device("pulse", "input", [])


def test_no_sound_card_means_silence_for_default_and_an_error_for_a_named_device(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(devices, "list_devices", lambda: [])
    assert isinstance(open_output(None), SilentOutput)
    assert isinstance(open_input("default"), SilenceSource)
    with pytest.raises(DeviceError, match="output device 'pulse'"):
        open_output("pulse")
    assert isinstance(open_source("mic"), SilenceSource)
    with pytest.raises(SourceError, match="input device 'usb'"):
        open_source("mic:usb")


def test_devices_command_never_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["devices"]) == 0
    printed = capsys.readouterr().out
    assert "inputs:" in printed and "outputs:" in printed and "wav:FILE" in printed
