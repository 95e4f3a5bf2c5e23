"""The window's QA actions: the record button with its "● REC 00:12" indicator, and ghost replay.

Recording writes one session file (`emulator/headset/recording/RECORDING.md`) of the joined session
into the recordings folder (File → Recordings folder…, remembered in QSettings as `qa/recordings`;
by default `emulator/model/paths.recordings_dir()`), named after the room and the time, so pressing
the button never stops to ask. Stopping, leaving or closing the window finalises the file. A ghost is
a recorded participant played back in the viewport (`emulator/ui/ghost.py`). Runs on the GUI thread.
"""

from __future__ import annotations

import datetime
import logging
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QInputDialog, QLabel, QMainWindow, QToolBar

from emulator.headset.recording.sessionfile import RecordingError
from emulator.model import paths
from emulator.ui.ghost import Ghost, recorded_names
from emulator.ui.session import AppSession

log = logging.getLogger(__name__)

SUFFIX = ".hemurec"
REC_STYLE = "QLabel { color: white; background: rgb(200, 30, 30); padding: 1px 6px; font-weight: bold; }"


def default_folder() -> Path:
    return paths.recordings_dir()


class QaActions(QObject):
    message = Signal(str)
    error = Signal(str)

    def __init__(self, window: QMainWindow, session: AppSession, settings: QSettings) -> None:
        super().__init__(window)
        self.window = window
        self.session = session
        self.settings = settings
        self.record = QAction("● &Record session", window)
        self.record.setCheckable(True)
        self.record.setShortcut(QKeySequence("Ctrl+Shift+R"))
        self.record.setToolTip("Record this session (states, audio, events) to a file (Ctrl+Shift+R)")
        self.record.toggled.connect(self._record_toggled)
        self.play_ghost_action = QAction("Play recording as &ghost…", window)
        self.play_ghost_action.setShortcut(QKeySequence("Ctrl+G"))
        self.play_ghost_action.triggered.connect(self.pick_ghost)
        self.loop_ghosts = QAction("&Loop ghosts", window)
        self.loop_ghosts.setCheckable(True)
        self.loop_ghosts.setChecked(str(settings.value("qa/loop", "true")) == "true")
        self.loop_ghosts.toggled.connect(lambda on: settings.setValue("qa/loop", "true" if on else "false"))
        self.remove_ghosts_action = QAction("Remove &ghosts", window)
        self.remove_ghosts_action.triggered.connect(self.remove_ghosts)
        self.folder_action = QAction("Recordings &folder…", window)
        self.folder_action.triggered.connect(self.pick_folder)
        self.indicator = QLabel()
        self.indicator.setStyleSheet(REC_STYLE)
        self.indicator.hide()
        window.statusBar().addPermanentWidget(self.indicator)
        toolbar = QToolBar("Session", window)
        toolbar.setObjectName("toolbar-session")
        toolbar.addAction(self.record)
        toolbar.addAction(self.play_ghost_action)
        window.addToolBar(toolbar)
        bar = window.menuBar()
        first = bar.actions()[0] if bar.actions() else None
        menu = bar.addMenu("&File")
        if first is not None:
            bar.insertMenu(first, menu)
        for action in (
            self.record,
            None,
            self.play_ghost_action,
            self.loop_ghosts,
            self.remove_ghosts_action,
            None,
            self.folder_action,
        ):
            if action is None:
                menu.addSeparator()
            else:
                menu.addAction(action)

    # --- recording --------------------------------------------------------------------------------

    def folder(self) -> Path:
        return Path(str(self.settings.value("qa/recordings", str(default_folder()))))

    def set_folder(self, folder: Path) -> None:
        """Where new recordings go from now on, remembered for the next start."""
        self.settings.setValue("qa/recordings", str(folder))
        self.folder_action.setToolTip(f"Where recordings are saved: {folder}")
        self.message.emit(f"recordings go to {folder}")

    def pick_folder(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self.window, "Recordings folder", str(self.folder()))
        if chosen:
            self.set_folder(Path(chosen))

    def _record_toggled(self, on: bool) -> None:
        if on and not self.session.tools.recording:
            self.start_recording()
        elif not on and self.session.tools.recording:
            self.stop_recording()

    def start_recording(self, path: Path | None = None) -> Path | None:
        """Start recording to `path` (default: a new file in the folder); None and a message if not."""
        if path is None:
            headset = self.session.headset
            room = headset.config.room if headset is not None else "room"
            stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
            path = self.folder() / f"{room}-{stamp}{SUFFIX}"
        try:
            self.session.tools.start_recording(path)
        except (ValueError, OSError, RecordingError) as error:
            self.error.emit(f"cannot record: {error}")
            path = None
        else:
            self.message.emit(f"recording to {path}")
        self.refresh()
        return path

    def stop_recording(self) -> Path | None:
        path = self.session.tools.stop_recording()
        if path is not None:
            self.message.emit(f"recording saved: {path}")
        self.refresh()
        return path

    def refresh(self) -> None:
        """Keep the button and the indicator in step with the session (a leave ends a recording)."""
        tools = self.session.tools
        if self.record.isChecked() != tools.recording:
            self.record.blockSignals(True)
            self.record.setChecked(tools.recording)
            self.record.blockSignals(False)
        self.record.setEnabled(self.session.connected or tools.recording)
        if tools.recording:
            seconds = int(tools.recording_seconds())
            self.indicator.setText(f"● REC {seconds // 60:02d}:{seconds % 60:02d}")
            self.indicator.show()
        else:
            self.indicator.hide()

    # --- ghosts -----------------------------------------------------------------------------------

    def pick_ghost(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self.window,
            "Play recording as ghost",
            str(self.folder()),
            f"Session recordings (*{SUFFIX});;All files (*)",
        )
        if path:
            self.play_ghost(Path(path))

    def play_ghost(self, path: Path, who: str | None = None) -> Ghost | None:
        """Play `who` from the recording as a ghost (asks whom when there are several)."""
        try:
            recording, names = recorded_names(path)
            if who is None:
                remote = [p.name for p in recording.participants.values() if not p.local and p.name in names]
                choices = remote + [n for n in names if n not in remote]
                if len(choices) > 1:
                    who, ok = QInputDialog.getItem(
                        self.window, "Ghost", "Whom to play back:", choices, 0, False
                    )
                    if not ok:
                        return None
                else:
                    who = choices[0]
            ghost = Ghost.open(recording, who, loop=self.loop_ghosts.isChecked())
        except (RecordingError, OSError) as error:
            self.error.emit(f"cannot play {path.name}: {error}")
            return None
        self.session.tools.add_ghost(ghost)
        self.message.emit(f"{ghost.label} ({ghost.duration:.1f} s{', looping' if ghost.loop else ''})")
        return ghost

    def remove_ghosts(self) -> None:
        self.session.tools.remove_ghosts()
        self.message.emit("ghosts removed")
