"""Where the main window and its docks go: the default layout, fitting the screen, the saved layout.

The default gives the viewport most of the width: every dock tabbed in one column on the right, each
panel in a scroll area so a tall panel (the Stats plots, the Controls table) scrolls instead of
making the window taller than a 1366×768 laptop screen. The window's minimum size then comes from
the largest thing a dock must show at once, not from the panels' full heights added up.

The saved layout carries a version (`QMainWindow.saveState(version)`): a layout saved by an older
default (docks on both sides, a window taller than the screen) is ignored rather than restored.
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QRect, QSettings, Qt
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFrame,
    QMainWindow,
    QProxyStyle,
    QScrollArea,
    QStyle,
    QStyleFactory,
    QStyleOption,
    QTabBar,
    QTabWidget,
    QWidget,
)

LAYOUT_VERSION = 2  # bump when the default layout changes, so old saved layouts give way to it
DEFAULT_SIZE = (1440, 900)
DOCK_SHARE = 0.36  # the most of the window's width the dock column takes by default
FRAME_ALLOWANCE = (16, 48)  # a window manager's frame (w, h) before the real one is known
RAISED = "Connect"
# Seven dock tabs share a ~470 px column on a 1366-wide screen: with the style's own padding their
# titles were cut to "Conn…", "Fa…". Less padding fits them whole; past that the bar scrolls. A proxy
# style, not a style sheet: a sheet on the window stops palette changes (a dark theme) reaching it.
TAB_H_SPACE = 12


class CompactTabs(QProxyStyle):
    """The application's style with less horizontal padding in tabs."""

    def pixelMetric(
        self, metric: QStyle.PixelMetric, option: QStyleOption | None = None, widget: QWidget | None = None
    ) -> int:
        if metric == QStyle.PixelMetric.PM_TabBarTabHSpace:
            return TAB_H_SPACE
        return super().pixelMetric(metric, option, widget)


def compact_tabs_style() -> QStyle:
    """A CompactTabs over a fresh instance of the application's style (a proxy owns its base)."""
    app = QApplication.instance()
    name = app.style().name() if isinstance(app, QApplication) else "Fusion"
    return CompactTabs(QStyleFactory.create(name) or QStyleFactory.create("Fusion"))


def compact_dock_tabs(window: QMainWindow, style: QStyle) -> None:
    """The window's dock tab bars show whole titles, scrolling when they do not fit."""
    for bar in window.findChildren(QTabBar):
        if bar.parent() is window and bar.style() is not style:
            bar.setStyle(style)
            bar.setElideMode(Qt.TextElideMode.ElideNone)
            bar.setUsesScrollButtons(True)


def scrolling(panel: QWidget) -> QScrollArea:
    """`panel` in a frameless scroll area: it keeps its natural size and scrolls when the dock is smaller."""
    area = QScrollArea()
    area.setWidget(panel)
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
    return area


def dock_width(window: QMainWindow, docks: dict[str, QDockWidget], window_width: int | None = None) -> int:
    """The dock column's width: wide enough for the widest panel, but never more than DOCK_SHARE of
    `window_width` (default: the window's width now; a resize of a shown window lands later)."""
    widest = 0
    for dock in docks.values():
        area = dock.widget()
        panel = area.widget() if isinstance(area, QScrollArea) else area
        if panel is not None:
            widest = max(widest, panel.minimumSizeHint().width())
    scrollbar = window.style().pixelMetric(window.style().PixelMetric.PM_ScrollBarExtent)
    return min(widest + scrollbar + 8, round((window_width or window.width()) * DOCK_SHARE))


def place_docks(window: QMainWindow, docks: dict[str, QDockWidget], window_width: int | None = None) -> None:
    """The default layout: all docks tabbed on the right, in `docks`' order, RAISED in front."""
    right = Qt.DockWidgetArea.RightDockWidgetArea
    window.setTabPosition(right, QTabWidget.TabPosition.North)  # tabs above the panel, where one looks first
    first: QDockWidget | None = None
    for dock in docks.values():
        dock.setFloating(False)
        window.removeDockWidget(dock)
        window.addDockWidget(right, dock)
        dock.show()
        if first is None:
            first = dock
        else:
            window.tabifyDockWidget(first, dock)
    if RAISED in docks:
        docks[RAISED].raise_()
    if first is not None:
        window.resizeDocks([first], [dock_width(window, docks, window_width)], Qt.Orientation.Horizontal)


def available(window: QWidget) -> QRect:
    screen = window.screen()
    return screen.availableGeometry() if screen is not None else QRect(0, 0, *DEFAULT_SIZE)


def frame_margins(window: QWidget) -> tuple[int, int]:
    """How much the window manager's frame adds (known once shown; estimated before)."""
    if window.isVisible():
        frame, inner = window.frameGeometry(), window.geometry()
        return frame.width() - inner.width(), frame.height() - inner.height()
    return FRAME_ALLOWANCE


def fit_to_screen(window: QWidget, width: int | None = None, height: int | None = None) -> int:
    """Size the window (default: its current size) so its frame lies within the screen's available area;
    the width it was given."""
    screen = available(window)
    extra_w, extra_h = frame_margins(window)
    w = min(width or window.width(), screen.width() - extra_w)
    h = min(height or window.height(), screen.height() - extra_h)
    w, h = max(w, window.minimumWidth()), max(h, window.minimumHeight())
    window.resize(w, h)
    frame = QRect(window.pos().x(), window.pos().y(), w + extra_w, h + extra_h)
    if not screen.contains(frame):
        x = screen.x() + max(0, (screen.width() - frame.width()) // 2)
        y = screen.y() + max(0, (screen.height() - frame.height()) // 2)
        window.move(x, y)
    return w


def default_layout(window: QMainWindow, docks: dict[str, QDockWidget]) -> None:
    """The window as it first opens: the default size fitted to the screen, the docks on the right."""
    width = fit_to_screen(window, *DEFAULT_SIZE)
    place_docks(window, docks, width)


def restore(window: QMainWindow, settings: QSettings) -> bool:
    """The user's saved geometry and dock layout, if saved by this layout version; still on screen."""
    geometry, state = settings.value("window/geometry"), settings.value("window/state")
    if not isinstance(state, QByteArray) or not window.restoreState(state, LAYOUT_VERSION):
        return False
    if isinstance(geometry, QByteArray):
        window.restoreGeometry(geometry)
        fit_to_screen(window)
    return True


def save(window: QMainWindow, settings: QSettings) -> None:
    settings.setValue("window/geometry", window.saveGeometry())
    settings.setValue("window/state", window.saveState(LAYOUT_VERSION))
