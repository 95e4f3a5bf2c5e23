"""Colours from the palette, so a dark (or light) desktop theme looks right.

Qt widgets follow the palette by themselves; what needs telling is what draws its own colours: the
HUD over the viewport (a style sheet) and the pyqtgraph plots (white-on-black by default). Both are
re-coloured on a palette change (QEvent.PaletteChange), so switching the desktop theme while the app
runs works too.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QColor, QPalette

HUD_ALPHA = 170  # the HUD's background lets the scene show through


def hud_style(palette: QPalette) -> str:
    """The HUD label's style sheet: the window's colours, translucent over the scene."""
    base = palette.color(QPalette.ColorRole.Window)
    text = palette.color(QPalette.ColorRole.WindowText)
    return (
        f"QLabel {{ color: {text.name()}; "
        f"background: rgba({base.red()}, {base.green()}, {base.blue()}, {HUD_ALPHA}); "
        "padding: 4px; font-family: monospace; }"
    )


def plot_background(palette: QPalette) -> QColor:
    return palette.color(QPalette.ColorRole.Base)


def plot_foreground(palette: QPalette) -> QColor:
    return palette.color(QPalette.ColorRole.Text)


def colour_plot(plot: pg.PlotWidget, palette: QPalette, title: str) -> None:
    """Background, axes, title and legend text of `plot` from `palette`."""
    foreground = plot_foreground(palette)
    plot.setBackground(plot_background(palette))
    for name in ("left", "bottom"):
        axis = plot.getAxis(name)
        axis.setPen(pg.mkPen(foreground))
        axis.setTextPen(pg.mkPen(foreground))
    plot.setTitle(title, color=foreground.name())
    legend = plot.getPlotItem().legend
    if legend is not None:
        legend.setLabelTextColor(foreground)
