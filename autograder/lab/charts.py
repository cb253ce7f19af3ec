"""The lab's charts: in the terminal with plotext, and as one PNG per experiment with
matplotlib (headless). Both draw the same `Chart`s: the student's curves as lines, the
reference's as points (dashed in the PNG), one colour per condition."""

from __future__ import annotations

import hashlib
import math
import threading
from pathlib import Path

from rich.columns import Columns
from rich.console import Group
from rich.text import Text

from autograder.i18n import Translator
from autograder.lab.experiment import Chart, Series

COLOURS = ("blue", "red", "green", "magenta")  # one per condition (plotext's and Rich's names)
PNG_COLOURS = ("tab:blue", "tab:red", "tab:green", "tab:purple")
# Without colours, the glyphs tell the curves apart: (student, reference) per condition.
GLYPHS = (("•", "x"), ("▪", "+"), ("◆", "o"), ("▲", "*"))
PNG_SIZE = (12.0, 4.5)  # inches, at PNG_DPI: 1200 x 450 pixels
PNG_DPI = 100
_plotext = threading.Lock()  # plotext draws on one global figure


def terminal(chart: Chart, t: Translator, width: int = 78, height: int = 15, colour: bool = True) -> Group:
    """`chart` drawn `width` columns wide, with its legend below it (not over the curves):
    the student's curves as lines, the reference's as points drawn over them."""
    import plotext as plt

    with _plotext:
        figure = plt.figure
        figure.clear()
        figure.theme("simple" if colour else "colorless")
        figure.plot_size(width, height)
        figure.legend(False)
        place = math.log10 if chart.x_log else float  # plotext's log scale mislays explicit ticks
        for series in sorted(chart.series, key=lambda s: s.reference):  # the reference's points on top
            points = [(place(x), min(y, chart.y_max or y)) for x, y in zip(series.x, series.y) if math.isfinite(y)]
            if not points:
                continue
            glyph = marker(series, colour)
            pixel = plt.pixel(foreground=COLOURS[series.group % len(COLOURS)]) if colour else None
            signal = figure.signal([p[0] for p in points], [p[1] for p in points], marker=plt.marker(glyph, pixel))
            if not series.reference:
                signal.lines()
            figure.draw(signal)
        figure.title(t(chart.title))
        figure.label(t(chart.x_label), "x")
        if chart.x_log:
            ticks = sorted({x for series in chart.series for x in series.x})
            figure.ruler("x").ticks([place(x) for x in ticks], [f"{x:g}" for x in ticks])
        if chart.y_max is not None:
            figure.ruler("y").lim(0, chart.y_max)
        text = figure.build().string(colorless=not colour)
        figure.clear()
    return Group(Text.from_ansi(text), legend(chart, t, colour))


def marker(series: Series, colour: bool) -> str:
    if colour:
        return "x" if series.reference else "braille"
    return GLYPHS[series.group % len(GLYPHS)][series.reference]


def legend(chart: Chart, t: Translator, colour: bool) -> Columns:
    """One entry per curve, in columns: its glyph in its colour, then its label."""
    entries = []
    for series in chart.series:
        glyph = ("x" if series.reference else "──") if colour else marker(series, colour)
        entry = Text(glyph, style=COLOURS[series.group % len(COLOURS)] if colour else "")
        entries.append(entry.append(f" {t(series.label)}"))
    return Columns(entries, padding=(0, 3), column_first=True)


def png(charts: list[Chart], title: str, t: Translator, path: Path) -> Path:
    """Save `charts` side by side in one PNG (reference: dashed with points; student: solid),
    unless the same drawing is there already (rendering is most of an unchanged rerun)."""
    key = hashlib.blake2b(repr((charts, title, t.language, PNG_SIZE, PNG_DPI)).encode(), digest_size=16).hexdigest()
    stamp = path.with_suffix(".key")
    if path.is_file() and stamp.is_file() and stamp.read_text() == key:
        return path
    _draw(charts, title, t, path)
    stamp.write_text(key)
    return path


def _draw(charts: list[Chart], title: str, t: Translator, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=PNG_SIZE, dpi=PNG_DPI, layout="constrained")
    figure.suptitle(title)
    for axes, chart in zip(figure.subplots(1, len(charts), squeeze=False)[0], charts):
        for series in chart.series:
            style = {"linestyle": "--", "marker": "o", "alpha": 0.6} if series.reference else {"linewidth": 2}
            y = [min(v, chart.y_max or v) for v in series.y]
            axes.plot(series.x, y, color=PNG_COLOURS[series.group % len(PNG_COLOURS)],
                      label=t(series.label), **style)
        axes.set_title(t(chart.title))
        axes.set_xlabel(t(chart.x_label))
        axes.set_ylabel(t(chart.y_label))
        if chart.x_log:
            axes.set_xscale("log")
            ticks = sorted({x for series in chart.series for x in series.x})
            axes.set_xticks(ticks, [f"{x:g}" for x in ticks])
            axes.minorticks_off()
        if chart.y_max is not None:
            axes.set_ylim(0, chart.y_max)
        axes.grid(alpha=0.3)
        axes.legend(fontsize="small")
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
