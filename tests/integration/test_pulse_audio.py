"""The real device path: the binaural mix through sounddevice into a PulseAudio null sink, and back."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from emulator.audio.devices import list_devices, open_input, open_output
from emulator.audio.portaudio import PortAudioInput, PortAudioOutput
from emulator.audio.renderer import BinauralRenderer
from emulator.cli import main
from emulator.model.pose import Vec3
from tests.support.processes import running
from tests.support.pulse import PulseServer

RATE = 48_000
BLOCK = 480


async def play(output: PortAudioOutput, frames: np.ndarray, ahead: int = 4 * BLOCK) -> None:
    """Write blocks as the card takes them (the loop keeps ~40 ms queued), then let it drain."""
    for start in range(0, len(frames), BLOCK):
        while output.queued_frames() > ahead:
            await asyncio.sleep(0.004)
        assert output.write(frames[start : start + BLOCK]) == len(frames[start : start + BLOCK])
    await output.drain()
    await asyncio.sleep(0.1)


def binaural(position: Vec3, seconds: float = 1.0) -> np.ndarray:
    renderer = BinauralRenderer()
    renderer.set_source("voice", position)
    voice = (np.random.default_rng(2).standard_normal(int(RATE * seconds)) * 0.2).astype(np.float32)
    return np.concatenate(
        [renderer.render({"voice": voice[i : i + BLOCK]}) for i in range(0, len(voice), BLOCK)]
    )


def lead_of_right_ms(recorded: np.ndarray) -> float:
    left, right = recorded[:, 0].astype(np.float64), recorded[:, 1].astype(np.float64)
    corr = np.correlate(left, right, mode="full")
    return (int(np.argmax(corr)) - (len(right) - 1)) / RATE * 1000


@pytest.mark.slow
@pytest.mark.parametrize(("x", "louder"), [(1.0, 1), (-1.0, 0)])
async def test_binaural_mix_through_pulseaudio_keeps_its_balance(
    pulse_server: PulseServer, tmp_path: Path, x: float, louder: int
) -> None:
    mix = binaural(Vec3(x, 0.0, 0.0))
    output = open_output("pulse")
    assert isinstance(output, PortAudioOutput)
    try:
        with pulse_server.recording(tmp_path / "monitor.raw") as path:
            await play(output, mix)
    finally:
        output.close()
    recorded = PulseServer.read_recording(path)
    active = recorded[np.max(np.abs(recorded), axis=1) > 1e-4]
    assert len(active) > 0.8 * len(mix), "the null sink's monitor heard too little of what was played"
    level = 10 * np.log10(np.mean(active.astype(np.float64) ** 2, axis=0))
    assert level[louder] - level[1 - louder] >= 6
    lead = lead_of_right_ms(active)
    assert 0.4 <= (lead if louder == 1 else -lead) <= 0.9
    assert output.overrun_frames == 0


@pytest.mark.slow
async def test_microphone_hears_what_the_sink_plays(pulse_server: PulseServer, tmp_path: Path) -> None:
    """The default source is the sink's monitor, so the input device records a tone paplay plays."""
    t = np.arange(2 * RATE) / RATE
    tone = (0.3 * np.sin(2 * np.pi * 1000 * t)).astype("<f4")
    raw = tmp_path / "tone.raw"
    raw.write_bytes(tone.tobytes())
    microphone = open_input("pulse")
    assert isinstance(microphone, PortAudioInput)
    heard = []
    argv = ["paplay", "--raw", "--format=float32le", f"--rate={RATE}", "--channels=1", str(raw)]
    try:
        with running(argv, ready=lambda: True, env=pulse_server.env, name="paplay"):
            for _ in range(int(2.5 * RATE / BLOCK)):
                heard.append(microphone.read(BLOCK))
                await asyncio.sleep(BLOCK / RATE)
    finally:
        microphone.close()
    samples = np.concatenate(heard)
    assert samples.dtype == np.float32 and len(samples) == len(heard) * BLOCK
    spectrum = np.abs(np.fft.rfft(samples))
    freqs = np.fft.rfftfreq(len(samples), 1 / RATE)
    state = f"restarts {microphone.restarts}, underrun {microphone.underrun_frames}"
    assert abs(freqs[int(np.argmax(spectrum))] - 1000) < 5, state
    assert float(np.max(np.abs(samples))) > 0.1, state
    assert microphone.restarts == 0, state


def test_devices_command_lists_the_pulse_devices(
    pulse_server: PulseServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert any(d.name == "pulse" and d.output_channels >= 2 for d in list_devices())
    assert main(["devices"]) == 0
    printed = capsys.readouterr().out
    assert "outputs:" in printed and "pulse" in printed
