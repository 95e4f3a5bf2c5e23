"""The app's QA tools and the last pieces of issue 6, in a real window in a real room (see test_app.py).

What is checked is what a user would check: pointer lock turns the view with plain mouse motion and
Esc gives the mouse back; lip-sync from the microphone (a spoken WAV standing in for it, through the
same source path) opens the jaw another headset receives while there is sound and shuts it in the
silence; a Live Link Face CSV's weights reach another headset; the record button writes a file that
holds the other headset's states and voice; a 10 % loss setting makes the reported loss rise; the
recording played as a ghost moves across the screen and is heard, spatialized with the chosen HRTF
and summed to both ears once HRTF is off; the Audio dock shows the room's own spatial mode;
closing finalises a recording and leaves nothing running.
"""

from __future__ import annotations

import asyncio
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from emulator.audio.espeak import synthesize
from emulator.audio.factory import AudioSpec
from emulator.audio.source import SAMPLE_RATE
from emulator.headset import HeadsetConfig
from emulator.headset.recording.replay import load_replay
from emulator.headset.recording.sessionfile import read_recording
from emulator.headset.voice import BLOCK_SAMPLES
from emulator.model.pose import Pose, Vec3
from tests.gui.test_app import (
    EYE,
    World,
    changed_centroid_x,
    closing_leaves_no_task_thread_or_process,
    facing_viewer,
    open_world,
)
from tests.support.room import SECRET

pytestmark = [pytest.mark.gui, pytest.mark.slow]

CSV = Path(__file__).parents[1] / "fixtures" / "livelink" / "two_expressions.csv"


def speech_then_silence(path: Path) -> Path:
    """A spoken "ah, ah" then 1.5 s of digital silence: the microphone's stand-in (looped)."""
    voice = synthesize("Ah, ah, ah.").samples.astype(np.float32)
    voice = 0.4 * voice / np.abs(voice).max()
    audio = np.concatenate([voice, np.zeros(int(1.5 * SAMPLE_RATE), dtype=np.float32)])
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes((audio * 32767).astype("<i2").tobytes())
    return path


def read_stereo(path: Path) -> np.ndarray:
    with wave.open(str(path), "rb") as wav:
        assert wav.getnchannels() == 2
        data = np.frombuffer(wav.readframes(wav.getnframes()), "<i2")
    return data.reshape(-1, 2).astype(np.float64) / 32768


def tone_level(mono: np.ndarray, hz: float = 330.0, width: float = 30.0) -> float:
    """RMS of what lies within ±`width` Hz of `hz` (the puppet's tone): Parseval over an FFT band, so
    the small phase jumps a replay's gaps leave in the tone do not cancel it out."""
    spectrum = np.fft.rfft(mono)
    freqs = np.fft.rfftfreq(len(mono), 1 / SAMPLE_RATE)
    band = np.abs(spectrum[(freqs > hz - width) & (freqs < hz + width)]) ** 2
    return float(np.sqrt(2 * band.sum()) / len(mono))


# --- steps ---------------------------------------------------------------------------------------


async def pointer_lock_turns_the_head(world: World, qtbot: Any) -> None:
    from PySide6.QtCore import QPoint, Qt

    window, viewport = world.window, world.window.viewport
    controller = window.session.controller
    await world.wait_until(lambda: viewport.frames > 2, "the viewport draws")
    controller.reset()
    centre = QPoint(viewport.width() // 2, viewport.height() // 2)
    qtbot.mouseDClick(viewport, Qt.MouseButton.LeftButton, pos=centre)
    await world.wait_until(lambda: viewport.pointer_locked, "double-click locks the pointer")
    assert viewport.cursor().shape() == Qt.CursorShape.BlankCursor
    before = world.frame()
    yaw = controller.yaw_degrees
    qtbot.mouseMove(viewport, centre + QPoint(80, 0))  # no button held
    await world.wait_until(lambda: controller.yaw_degrees < yaw - 2.0, "moving right turns right")
    await world.pause(0.2)
    assert np.abs(world.frame() - before).sum(axis=2).astype(bool).mean() > 0.01  # the view turned
    qtbot.keyClick(viewport, Qt.Key.Key_Escape)
    assert not viewport.pointer_locked
    turned = controller.yaw_degrees
    qtbot.mouseMove(viewport, centre + QPoint(-150, 0))
    await world.pause(0.2)
    assert controller.yaw_degrees == turned  # released: plain motion no longer turns
    controller.reset()


async def join(world: World, tmp_path: Path, microphone: str = "silence") -> None:
    """The window joins (hearing into tmp_path/ears), then the puppet."""
    window = world.window
    config = HeadsetConfig(
        world.room.url,
        "gui",
        "me",
        placement=Pose(Vec3(0.0, EYE, 0.0)),
        secret=SECRET,
        audio=AudioSpec.parse(microphone),
        record_dir=tmp_path / "ears",
    )
    assert await window.join(config), window.statusBar().currentMessage()
    await world.observer.start()
    await world.wait_until(lambda: world.app_seen_by_puppet() is not None, "the puppet sees the app")


async def the_audio_dock_shows_the_rooms_mode(world: World, mode: str) -> None:
    panel = world.window.audio_panel
    panel.refresh()
    assert panel.room_mode() == mode
    assert panel.mode.text().startswith("client-side" if mode == "forward" else "server-side")


async def lipsync_opens_the_jaw_in_speech_and_shuts_it_in_silence(world: World) -> None:
    world.window.face_panel.use_lipsync()
    seen: list[float] = []

    def jaw() -> float:
        p = world.app_seen_by_puppet()
        value = p.face["jawOpen"] if p is not None else 0.0
        seen.append(value)
        return value

    await world.wait_until(lambda: jaw() > 0.3, "the jaw opens while the microphone speaks")
    await world.wait_until(lambda: jaw() < 0.02, "the jaw shuts in the microphone's silence")
    await world.wait_until(lambda: jaw() > 0.3, "and opens again when the speech comes round")
    world.window.face_panel.apply_preset("neutral")
    world.window.session.lipsync = None


async def a_live_link_csv_reaches_the_other_headset(world: World) -> None:
    world.window.face_panel.play_csv(str(CSV))

    def received(jaw: float, name: str, value: float) -> bool:
        p = world.app_seen_by_puppet()
        return p is not None and abs(p.face["jawOpen"] - jaw) < 0.03 and abs(p.face[name] - value) < 0.03

    await world.wait_until(lambda: received(0.6, "mouthSmileLeft", 0.3), "the CSV's first expression")
    await world.wait_until(lambda: received(0.1, "browInnerUp", 0.8), "the CSV's second expression")
    world.window.face_panel.apply_preset("neutral")


async def the_record_button_records_the_other_headsets_states_and_voice(world: World, folder: Path) -> Path:
    window = world.window
    window.settings.setValue("qa/recordings", str(folder))
    window.qa.refresh()
    assert window.qa.record.isEnabled()
    window.qa.record.trigger()
    await world.wait_until(lambda: window.qa.indicator.isVisible(), "the REC indicator shows")
    assert window.qa.indicator.text().startswith("● REC 00:0")
    await world.pause(1.5)
    world.puppet.pose = facing_viewer(0.6, -2.0)

    def moved() -> bool:
        p = window.session.headset.room_state.by_id(world.observer.participant_id)  # type: ignore[union-attr]
        return p is not None and p.pose is not None and p.pose.position.x > 0.55

    await world.wait_until(moved, "the window receives the puppet's new position")
    await world.pause(1.0)
    window.qa.record.trigger()
    assert not window.qa.indicator.isVisible()
    files = list(folder.glob("gui-*.hemurec"))
    assert len(files) == 1, files
    recording = read_recording(files[0])
    assert not recording.truncated
    puppet = recording.find("puppet")
    # A still headset sends its state only now and then (a keep-alive), its voice every 20 ms.
    assert len(puppet.states) >= 5 and len(puppet.audio) > 50
    material = load_replay(recording, "puppet")
    xs = [pose.position.x for pose in material.poses]
    assert min(xs) < -0.5 and max(xs) > 0.5  # it walked from left to right while recorded
    assert tone_level(material.pcm[len(material.pcm) // 4 :]) > 0.05  # its 330 Hz voice
    me = recording.find("me")
    assert me.local and len(me.states) >= 5 and len(me.audio) > 50
    return files[0]


async def ten_percent_loss_raises_the_reported_loss(world: World) -> None:
    window = world.window
    series = window.collector.series
    puppet_id = world.observer.participant_id
    assert puppet_id is not None
    await world.wait_until(lambda: puppet_id in series, "stats for the puppet")
    window.network_panel.set_spec("custom:loss=10%")
    assert window.session.tools.conditions.loss == pytest.approx(0.10)

    def lossy() -> bool:
        loss = series[puppet_id].latest("loss_pct")
        return loss is not None and loss > 4.0

    await world.wait_until(lossy, "the reported loss rises")
    window.network_panel.refresh()
    assert "lost" in window.network_panel.counters.text()
    network = window.session.tools.network
    assert network is not None and network.incoming.stats.lost > 0
    # Each direction's losses are seeded: the outgoing one's first falls on its 36th datagram, which
    # may come after the incoming loss is already reported.
    await world.wait_until(lambda: network.outgoing.stats.lost > 0, "an outgoing datagram is lost")
    window.network_panel.set_spec("good")
    assert window.session.tools.conditions.clean


async def the_ghost_moves_on_screen_and_is_heard(world: World, path: Path) -> tuple[int, ...]:
    """The puppet leaves; its recording comes back as a ghost. Returns the ears' block counts (the
    ears record what they play, block by block) when the room fell quiet, the ghost started, the
    HRTF was switched off, and the ghost was removed."""
    window = world.window
    await world.observer.stop()
    await world.wait_until(lambda: window.viewport.avatars_drawn == 0, "the puppet's avatar goes")
    await world.pause(0.3)
    baseline = world.frame()
    ears = window.session.headset.ears  # type: ignore[union-attr]
    assert ears is not None
    quiet = ears.blocks_heard
    await world.pause(0.5)
    ghost = window.qa.play_ghost(path, "puppet")
    assert ghost is not None and ghost.label == "ghost: puppet" and ghost.loop
    started = ears.blocks_heard
    await world.wait_until(lambda: window.viewport.avatars_drawn == 1, "the ghost is drawn")
    width = window.viewport.grabFramebuffer().width()
    sides: set[str] = set()

    def both_sides() -> bool:
        x, count = changed_centroid_x(world.frame(), baseline)
        if count > 200:
            sides.add("left" if x < width / 2 else "right")
        return sides == {"left", "right"}

    await world.wait_until(both_sides, "the ghost walks left and right on screen as recorded")
    await world.pause(max(0.0, ghost.duration - ghost.elapsed()) + 0.5)  # a whole loop with the HRTF
    index = window.audio_panel.hrtf.findData("off")
    window.audio_panel.hrtf.setCurrentIndex(index)
    off = ears.blocks_heard
    await world.pause(1.5)
    window.qa.remove_ghosts()
    removed = ears.blocks_heard
    await world.wait_until(lambda: window.viewport.avatars_drawn == 0, "the ghost is removed")
    return quiet, started, off, removed


async def closing_finalises_a_recording(world: World, folder: Path) -> None:
    window = world.window
    window.qa.start_recording(folder / "closing.hemurec")
    await world.pause(0.5)
    await closing_leaves_no_task_thread_or_process(world)
    recording = read_recording(folder / "closing.hemurec")
    assert not recording.truncated and recording.find("me").states


async def leaving_finalises_a_recording(world: World, path: Path) -> None:
    window = world.window
    assert window.qa.start_recording(path) == path
    world.puppet.pose = facing_viewer(0.3, -1.5)  # a move is sent at once (a still headset rarely sends)

    def moved() -> bool:
        p = window.session.headset.room_state.by_id(world.observer.participant_id or "")  # type: ignore[union-attr]
        return p is not None and p.pose is not None and p.pose.position.x > 0.25

    await world.wait_until(moved, "the window sees the puppet move")
    await window.session.leave()
    window.qa.refresh()
    assert not window.qa.indicator.isVisible() and not window.qa.record.isChecked()
    recording = read_recording(path)
    assert not recording.truncated
    assert recording.find("me").states and recording.find("puppet").states
    assert recording.find("room mix").audio  # a binaural room's one stream is what the window heard


def the_network_dock_names_presets_and_custom_settings(world: World) -> None:
    panel = world.window.network_panel
    panel.preset.setCurrentIndex(panel.preset.findData("4g"))
    assert panel.spec() == "4g" and panel.delay.value() == pytest.approx(45.0)
    panel.loss.setValue(7.5)
    assert panel.spec().startswith("custom:loss=7.5%")
    panel.apply()
    assert world.window.session.tools.conditions.loss == pytest.approx(0.075)
    assert world.window.settings.value("network/spec") == panel.spec()
    panel.burst.setValue(4)
    panel.reorder.setValue(2)
    assert panel.spec().endswith(",burst=4,reorder=2%")
    panel.apply()
    assert world.window.session.tools.conditions.burst == pytest.approx(4.0)
    # A time-varying preset is offered; its figures follow the schedule, so they are not editable.
    panel.preset.setCurrentIndex(panel.preset.findData("commute"))
    assert panel.spec() == "commute" and not panel.loss.isEnabled()
    panel.apply()
    assert world.window.session.tools.conditions.varying == "commute"
    assert "handover" in panel.in_force.text()
    panel.set_spec("good")
    assert panel.loss.isEnabled()


# Two windows, each joined for well under 30 s: with the app and the puppet headset on one qasync
# loop, longer sessions in this test process end in a qasync/PySide timer crash or lost ICE consent
# (seen with main's code too; see the report), which is not what these tests are about.


def test_pointer_lock_lipsync_a_live_link_csv_and_loss(qapp: Any, qtbot: Any, tmp_path: Path) -> None:
    async def steps(world: World) -> None:
        world.tasks_before = set(asyncio.all_tasks())
        await pointer_lock_turns_the_head(world, qtbot)
        await join(world, tmp_path, f"wav:{speech_then_silence(tmp_path / 'mic.wav')}:loop")
        await the_audio_dock_shows_the_rooms_mode(world, "forward")
        await lipsync_opens_the_jaw_in_speech_and_shuts_it_in_silence(world)
        await a_live_link_csv_reaches_the_other_headset(world)
        await ten_percent_loss_raises_the_reported_loss(world)
        await closing_leaves_no_task_thread_or_process(world)

    with open_world(qapp, tmp_path) as world:
        world.run(steps(world), timeout=120.0)


def test_recording_and_playing_it_back_as_a_ghost(qapp: Any, tmp_path: Path) -> None:
    async def steps(world: World) -> tuple[int, ...]:
        world.tasks_before = set(asyncio.all_tasks())
        folder = tmp_path / "recordings"
        await join(world, tmp_path)
        path = await the_record_button_records_the_other_headsets_states_and_voice(world, folder)
        blocks = await the_ghost_moves_on_screen_and_is_heard(world, path)
        await closing_finalises_a_recording(world, folder)
        return blocks

    with open_world(qapp, tmp_path) as world:
        blocks = world.run(steps(world), timeout=120.0)
    ears = read_stereo(tmp_path / "ears" / "binaural.wav")
    quiet, started, off, removed = (b * BLOCK_SAMPLES for b in blocks)
    silence = ears[quiet:started]
    with_hrtf, without = ears[started + SAMPLE_RATE // 4 : off], ears[off + SAMPLE_RATE // 5 : removed]
    # The room is quiet once the puppet has left; then the ghost's recorded 330 Hz voice is heard from
    # 2 m away through the HRTF (the two ears differ as it walks from left to right) ...
    heard = tone_level(with_hrtf.mean(axis=1))
    assert len(silence) and tone_level(silence.mean(axis=1)) < 0.1 * heard
    assert np.abs(with_hrtf[:, 0] - with_hrtf[:, 1]).max() > 0.1 * np.abs(with_hrtf).max()
    # ... and with HRTF off, summed to both ears alike.
    assert tone_level(without.mean(axis=1)) > 0.1 * heard
    assert np.array_equal(without[:, 0], without[:, 1])


def test_the_audio_dock_shows_a_binaural_rooms_mode(qapp: Any, tmp_path: Path) -> None:
    """A room started with --mix binaural mixes for each listener: the dock says so once joined."""
    with open_world(qapp, tmp_path, "--mix", "binaural") as world:

        async def steps() -> None:
            world.tasks_before = set(asyncio.all_tasks())
            window = world.window
            window.audio_panel.refresh()
            assert window.audio_panel.room_mode() is None
            assert window.audio_panel.mode.text().startswith("not joined")
            window.qa.refresh()
            assert not window.qa.record.isEnabled()  # nothing to record before joining
            config = HeadsetConfig(world.room.url, "gui", "me", secret=SECRET)
            assert await window.join(config), window.statusBar().currentMessage()
            await the_audio_dock_shows_the_rooms_mode(world, "binaural")
            await world.observer.start()
            await leaving_finalises_a_recording(world, tmp_path / "left.hemurec")
            the_network_dock_names_presets_and_custom_settings(world)
            await closing_leaves_no_task_thread_or_process(world)

        world.run(steps(), timeout=120.0)
