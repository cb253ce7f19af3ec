"""Rich renderables as plain text: for notebook cell outputs and Gradescope, which show text
in a fixed-width font and understand no terminal colours."""

from __future__ import annotations

import io


def plain_text(*renderables: object, width: int = 100) -> str:
    from rich.console import Console

    console = Console(file=io.StringIO(), width=width, color_system=None, force_terminal=False,
                      force_jupyter=False, highlight=False, emoji=False, legacy_windows=False)
    for renderable in renderables:
        console.print(renderable)
    return console.file.getvalue()
