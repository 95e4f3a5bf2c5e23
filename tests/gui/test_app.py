"""Issue 6's proof: the real window under Xvfb (Mesa llvmpipe, the xcb platform), in a real room.

The room is a real `headset-emulator room` process on loopback; a headless headset that the test moves
by hand (the "puppet") shares the room with the window. What is checked is what a user would see or
what another participant would receive: the puppet's avatar moves across the grabbed framebuffer, W
walks the pose the puppet receives, the jawOpen slider opens the mouth the puppet receives, a virtual
SDL gamepad's stick turns the view, the stats plot fills, and closing leaves nothing running.
The steps share one window and run in order, in one test.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import math
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pytest

from emulator.audio.factory import AudioSpec
from emulator.headset import Headset, HeadsetConfig
from emulator.model.face import Face
from emulator.model.pose import Pose, Quat, Vec3
from emulator.model.room_state import RemoteParticipant
from tests.support.gamepad import VirtualPads
from tests.support.processes import stop_group
from tests.support.room import SECRET, RoomProcess, _answers, cli, cli_env, free_port

pytestmark = [pytest.mark.gui, pytest.mark.slow]

T = TypeVar("T")
EYE = 1.6


class Puppet:
    """A headset driver the test moves by hand."""

    def __init__(self, pose: Pose) -> None:
        self.pose = pose
        self.face = Face()

    def sample(self, t: float) -> tuple[Pose, Face]:
        return self.pose, self.face


@dataclass
class World:
    loop: asyncio.AbstractEventLoop
    window: Any
    puppet: Puppet
    observer: Headset
    room: RoomProcess
    tasks_before: set[asyncio.Task[Any]] = field(default_factory=set)

    def run(self, coro: Awaitable[T], timeout: float = 30.0) -> T:
        return self.loop.run_until_complete(asyncio.wait_for(coro, timeout))

    async def wait_until(self, condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                pytest.fail(f"gave up waiting: {what}")
            await asyncio.sleep(0.05)

    async def pause(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    def app_seen_by_puppet(self) -> RemoteParticipant | None:
        me = self.window.session.headset.participant_id
        return self.observer.room_state.by_id(me)

    def frame(self) -> np.ndarray:
        image = self.window.viewport.grabFramebuffer()
        width, height = image.width(), image.height()
        data = np.frombuffer(image.constBits(), np.uint8, count=image.sizeInBytes())
        rows = data.reshape(height, image.bytesPerLine())[:, : width * 4]
        return rows.reshape(height, width, 4)[:, :, :3].astype(np.int16).copy()


def facing_viewer(x: float, z: float) -> Pose:
    return Pose(Vec3(x, EYE, z), Quat.from_euler(math.pi))


def changed_centroid_x(frame: np.ndarray, baseline: np.ndarray) -> tuple[float, int]:
    """Mean column of the pixels that differ from the empty room, and how many there are."""
    changed = np.abs(frame - baseline).sum(axis=2) > 40
    columns = np.nonzero(changed)[1]
    return (float(columns.mean()) if len(columns) else math.nan), len(columns)


@contextlib.contextmanager
def open_world(qapp: Any, tmp_path: Path, *room_args: str) -> Iterator[World]:
    """A room process (with `room_args`), the window shown on a qasync loop, and an unstarted puppet."""
    import qasync

    from emulator.ui.app import settings
    from emulator.ui.window import MainWindow

    tmp = tmp_path
    # The room's log goes to a file: a pipe nobody reads fills up and freezes the room mid-test.
    port = free_port()
    log_file = (tmp / "room.log").open("wb")
    process = subprocess.Popen(
        cli("room", "--host", "127.0.0.1", "--port", str(port), *room_args),
        env=cli_env(tmp),
        stdout=subprocess.DEVNULL,
        stderr=log_file,
        start_new_session=True,
    )
    room = RoomProcess(f"ws://127.0.0.1:{port}/ws", port, process)
    deadline = time.monotonic() + 30
    while not _answers(port):
        if time.monotonic() > deadline or process.poll() is not None:
            stop_group(process)
            pytest.fail(f"the room did not start: {(tmp / 'room.log').read_text()[-2000:]}")
        time.sleep(0.1)
    loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(loop)
    window = MainWindow(settings(Path(tmp / "settings.ini")), fps=30.0)
    window.resize(1000, 640)
    window.show()
    puppet = Puppet(facing_viewer(-0.6, -2.0))
    observer = Headset(
        HeadsetConfig(
            room.url, "gui", "puppet", audio=AudioSpec.parse("tone:330"), marker_period_s=0.0, secret=SECRET
        ),
        drivers=puppet,
    )
    world = World(loop, window, puppet, observer, room)
    try:
        yield world
    finally:
        if not window.closed.is_set():
            window.close()
            world.run(window.closed.wait())
        world.run(observer.stop())
        loop.close()
        asyncio.set_event_loop(None)
        window.deleteLater()
        qapp.processEvents()
        gc.collect()  # the window's and the loop's Qt objects go now, not at interpreter exit
        stop_group(process)
        log_file.close()


@pytest.fixture
def world(qapp: Any, tmp_path: Path) -> Iterator[World]:
    with open_world(qapp, tmp_path) as world:
        yield world


async def window_joins_and_the_puppets_avatar_moves_on_screen(world: World) -> None:
    window = world.window
    config = HeadsetConfig(world.room.url, "gui", "me", placement=Pose(Vec3(0.0, EYE, 0.0)), secret=SECRET)
    assert await window.join(config), window.statusBar().currentMessage()
    assert window.session.state == "connected"
    await world.wait_until(lambda: window.viewport.frames > 2, "the viewport draws")
    baseline = world.frame()  # nobody else in the room yet

    await world.observer.start()
    await world.wait_until(lambda: window.viewport.avatars_drawn == 1, "the puppet's avatar is drawn")
    await world.pause(0.4)  # past the renderer's interpolation delay
    left_x, left_count = changed_centroid_x(world.frame(), baseline)

    world.puppet.pose = facing_viewer(0.6, -2.0)

    def moved() -> bool:
        p = window.session.headset.room_state.by_id(world.observer.participant_id)
        return p is not None and p.pose is not None and p.pose.position.x > 0.55

    await world.wait_until(moved, "the window receives the puppet's new position")
    await world.pause(0.4)
    right_x, right_count = changed_centroid_x(world.frame(), baseline)
    width = window.viewport.grabFramebuffer().width()
    assert left_count > 200 and right_count > 200, "the avatar covers pixels"
    assert left_x < width / 2 < right_x, (left_x, right_x, width)
    a_snapshot_of_the_window_shows_the_view(window)


def a_snapshot_of_the_window_shows_the_view(window: Any) -> None:
    """`demo --screenshot` saves `snapshot()`: the docks, and in the viewport's place its picture
    (a plain widget grab leaves a native GL surface blank)."""
    from PySide6.QtCore import QPoint

    image = window.snapshot()
    top_left = window.viewport.mapTo(window, QPoint(0, 0))
    ratio = image.devicePixelRatio()
    data = np.frombuffer(image.constBits(), np.uint8, count=image.sizeInBytes())
    pixels = data.reshape(image.height(), image.bytesPerLine())[:, : image.width() * 4]
    pixels = pixels.reshape(image.height(), image.width(), 4)[:, :, :3].astype(np.int16)
    x0, y0 = round(top_left.x() * ratio), round(top_left.y() * ratio)
    w, h = round(window.viewport.width() * ratio), round(window.viewport.height() * ratio)
    view = pixels[y0 : y0 + h, x0 : x0 + w]
    sky, floor = (
        view[h // 10 : h // 5].reshape(-1, 3).mean(axis=0),
        view[-h // 10 :].reshape(-1, 3).mean(axis=0),
    )
    assert abs(int(sky[0]) - int(sky[2])) > 20 and sky.sum() != floor.sum(), (sky, floor)  # a sky, a floor


async def pressing_w_moves_the_pose_the_room_receives(world: World, qtbot: Any) -> None:
    from PySide6.QtCore import Qt

    await world.wait_until(
        lambda: (p := world.app_seen_by_puppet()) is not None and p.pose is not None, "a pose"
    )
    before = world.app_seen_by_puppet().pose.position  # type: ignore[union-attr]
    viewport = world.window.viewport
    viewport.setFocus()
    qtbot.keyPress(viewport, Qt.Key.Key_W)
    await world.pause(0.7)
    qtbot.keyRelease(viewport, Qt.Key.Key_W)

    def walked() -> bool:
        p = world.app_seen_by_puppet()
        return p is not None and p.pose is not None and p.pose.position.z < before.z - 0.3

    await world.wait_until(walked, "the puppet sees the window's headset walk forward (-z)")
    after = world.app_seen_by_puppet().pose.position  # type: ignore[union-attr]
    assert abs(after.x - before.x) < 0.05  # straight ahead, not sideways
    world.window.session.controller.reset()


async def pressing_h_raises_a_hand_the_room_receives(world: World, qtbot: Any) -> None:
    """H raises the right hand, Ctrl + right-drag moves it, the Controls dock's pinch shapes it; the
    puppet receives each of these, and the HUD says what is sent."""
    from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    from emulator.model.hands import HandJoint

    def right_hand() -> Any:
        p = world.app_seen_by_puppet()
        return None if p is None or p.pose is None else p.hands.get("right")

    def wrist_above_eyes(metres: float) -> float:
        hand, p = right_hand(), world.app_seen_by_puppet()
        return (
            -9.0 if hand is None else float(hand.positions[HandJoint.WRIST][1]) - p.pose.position.y - metres
        )  # type: ignore[union-attr]

    await world.wait_until(lambda: wrist_above_eyes(-0.4) < 0, "relaxed hands, below the waist line")
    viewport = world.window.viewport
    viewport.setFocus()
    qtbot.keyClick(viewport, Qt.Key.Key_H)
    await world.wait_until(lambda: wrist_above_eyes(-0.25) > 0, "the puppet sees the right hand raised")
    x_before = float(right_hand().positions[HandJoint.WRIST][0])

    def send(kind: QEvent.Type, at: QPoint, button: Qt.MouseButton, buttons: Qt.MouseButton) -> None:
        event = QMouseEvent(kind, QPointF(at), QPointF(viewport.mapToGlobal(at)), button, buttons,
                            Qt.KeyboardModifier.ControlModifier)  # fmt: skip
        QApplication.sendEvent(viewport, event)

    centre = QPoint(viewport.width() // 2, viewport.height() // 2)
    yaw = world.window.session.controller.yaw_degrees
    send(QEvent.Type.MouseButtonPress, centre, Qt.MouseButton.RightButton, Qt.MouseButton.RightButton)
    send(QEvent.Type.MouseMove, centre + QPoint(100, 0), Qt.MouseButton.NoButton, Qt.MouseButton.RightButton)
    send(QEvent.Type.MouseButtonRelease, centre + QPoint(100, 0), Qt.MouseButton.RightButton,
         Qt.MouseButton.NoButton)  # fmt: skip
    assert world.window.session.controller.yaw_degrees == yaw, "Ctrl + drag moved the hand, not the head"
    await world.wait_until(
        lambda: float(right_hand().positions[HandJoint.WRIST][0]) > x_before + 0.15, "the hand moves right"
    )
    pinch = next(b for b in world.window.controls_panel.shape_buttons.buttons() if b.text() == "pinch")
    pinch.click()

    def pinched() -> bool:
        hand = right_hand()
        gap = hand.positions[HandJoint.THUMB_TIP] - hand.positions[HandJoint.INDEX_TIP]
        return float(np.linalg.norm(gap)) < 0.015

    await world.wait_until(pinched, "the puppet sees thumb and index tips meet")
    await world.wait_until(
        lambda: "hands: right raised (pinch)" in world.window.hud.text(), "the HUD says what is sent"
    )
    qtbot.keyClick(viewport, Qt.Key.Key_H)
    await world.wait_until(lambda: wrist_above_eyes(-0.4) < 0, "the hand goes down again")
    await world.wait_until(lambda: "hands: down" in world.window.hud.text(), "the HUD says so")
    world.window.session.controller.hands.set_shape("open")


async def the_jaw_slider_changes_the_face_another_headset_receives(world: World) -> None:
    slider = world.window.face_panel.sliders["jawOpen"]
    slider.setValue(80)

    def mouth_open() -> bool:
        p = world.app_seen_by_puppet()
        return p is not None and abs(p.face["jawOpen"] - 0.8) < 0.02

    await world.wait_until(mouth_open, "the puppet receives jawOpen 0.8")
    slider.setValue(0)
    await world.wait_until(
        lambda: world.app_seen_by_puppet().face["jawOpen"] < 0.02, "the mouth closes again"
    )  # type: ignore[union-attr]


async def a_virtual_gamepads_right_stick_turns_the_view(world: World, virtual_gamepads: VirtualPads) -> None:
    """Before joining: SDL's hot-plug and stick reach the controller, and the picture turns."""
    window = world.window
    controller = window.session.controller
    await world.wait_until(lambda: window.viewport.frames > 2, "the viewport draws")
    controller.reset()
    baseline_yaw = controller.yaw_degrees
    pad = virtual_gamepads.attach()
    await world.wait_until(
        lambda: window.input.gamepad is not None and window.input.gamepad.connected, "hot-plug"
    )
    before = world.frame()
    pad.set_axis("rightx", 1.0)
    await world.wait_until(lambda: controller.yaw_degrees < baseline_yaw - 20.0, "the stick turns the head")
    pad.set_axis("rightx", 0.0)
    await world.pause(0.2)
    turned = controller.yaw_degrees
    assert turned < baseline_yaw - 20.0  # right stick right: a right turn (negative yaw)
    assert np.abs(world.frame() - before).sum(axis=2).astype(bool).mean() > 0.01  # the view moved
    pad.detach()
    await world.wait_until(lambda: not window.input.gamepad.connected, "unplug")  # type: ignore[union-attr]
    controller.reset()


async def the_stats_plot_gets_points(world: World) -> None:
    window = world.window
    window.docks["Stats"].show()
    window.docks["Stats"].raise_()
    await world.wait_until(lambda: window.stats_panel.isVisible(), "the stats dock shows")
    start = window.stats_panel.point_count()
    await world.wait_until(
        lambda: window.stats_panel.point_count() >= start + 6, "points arrive in the plots"
    )
    series = window.collector.series[world.observer.participant_id]  # type: ignore[index]
    # The puppet sends states and a tone: both show up as rates (their size depends on the machine's load).
    state_rate, bitrate_in = series.latest("state_rate_hz"), series.latest("bitrate_in_kbps")
    assert state_rate is not None and state_rate > 0
    assert bitrate_in is not None and bitrate_in > 0
    mos = series.latest("mos")  # the E-model of that second's loss and delay (noisy on a loaded machine)
    assert mos is not None and 1.0 <= mos <= 4.5
    assert window.round_trip_ms() is not None  # the HUD's, from the same StatsSampled events
    # The puppet's tone (0.3 amplitude: -13.5 dBFS) on its meter, from the headset's VoiceLevel events.
    puppet_id = world.observer.participant_id
    await world.wait_until(lambda: window.session.levels.get(puppet_id, 0.0) > 0.6, "the puppet's meter")  # type: ignore[arg-type]


async def muting_silences_everything_the_headset_sends(world: World) -> None:
    """The Audio dock's mute reaches the headset's mute gate, which sits after the latency chirps."""
    session = world.window.session
    assert session.headset is not None and session.headset.voice is not None
    voice = session.headset.voice
    assert voice.uplink_report()["muted"] is False
    session.set_muted(True)
    assert voice.muted and voice.uplink_report()["muted"] is True
    session.set_muted(False)
    assert not voice.muted
    assert len(voice.uplink_report()["mute_periods"]) == 1


async def closing_leaves_no_task_thread_or_process(world: World) -> None:
    window = world.window
    window.close()
    await window.closed.wait()
    assert window.session.headset is None
    await world.observer.stop()

    async def leftovers() -> list[asyncio.Task[Any]]:
        deadline = time.monotonic() + 5.0
        while True:
            others = [t for t in asyncio.all_tasks() if t not in world.tasks_before]
            if not others or time.monotonic() > deadline:
                return others
            await asyncio.sleep(0.05)

    assert await leftovers() == []
    assert window.input.gamepad is None  # SDL released


def test_the_app_in_a_room(world: World, qtbot: Any, virtual_gamepads: VirtualPads) -> None:
    """One window, one room, one puppet, checked step by step (threads started on the way, such as
    aiortc's decoders, must all be gone at the end, which the leak check enforces per test). The
    steps run as one coroutine on the app's qasync loop, as the app itself runs."""
    world.run(scenario(world, qtbot, virtual_gamepads), timeout=240.0)


async def scenario(world: World, qtbot: Any, virtual_gamepads: VirtualPads) -> None:
    world.tasks_before = set(asyncio.all_tasks())  # this test's own: the scenario and its timeout
    await a_virtual_gamepads_right_stick_turns_the_view(world, virtual_gamepads)
    await window_joins_and_the_puppets_avatar_moves_on_screen(world)
    await pressing_w_moves_the_pose_the_room_receives(world, qtbot)
    await pressing_h_raises_a_hand_the_room_receives(world, qtbot)
    await the_jaw_slider_changes_the_face_another_headset_receives(world)
    await the_stats_plot_gets_points(world)
    await muting_silences_everything_the_headset_sends(world)
    await closing_leaves_no_task_thread_or_process(world)
