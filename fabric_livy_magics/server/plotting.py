"""A matplotlib backend for the session process: ``plt.show()`` hands its figures to the statement.

In a notebook, ``plt.show()`` draws the figure under the cell; in a Livy session there is no screen,
and matplotlib's default Agg backend shows nothing. The session selects this backend
(``module://fabric_livy_magics.server.plotting``, matplotlib's "module" backend form): it renders
with Agg, and its ``show`` keeps each open figure until the interpreter takes them at the end of
the statement and answers the figure as ``image/png``, as ``%matplot plt`` does. Runs inside the
session process only; the interpreter finds this module in ``sys.modules`` (no import either way).
"""

from __future__ import annotations

from typing import Any

from matplotlib.backend_bases import FigureManagerBase
from matplotlib.backends.backend_agg import FigureCanvasAgg

__all__ = ["BACKEND", "FigureCanvas", "FigureManager", "show", "take_shown"]

BACKEND = f"module://{__name__}"
FigureCanvas = FigureCanvasAgg
FigureManager = FigureManagerBase

_shown: list[Any] = []


def take_shown() -> list[Any]:
    """The figures shown since the last call, oldest first."""
    figures = list(_shown)
    _shown.clear()
    return figures


def show(*args: Any, **kwargs: Any) -> None:
    """``plt.show()``: every open figure is kept for the statement's answer, then closed (as the
    inline backend of a notebook does)."""
    from matplotlib._pylab_helpers import Gcf

    _shown.extend(manager.canvas.figure for manager in Gcf.get_all_fig_managers())
    Gcf.destroy_all()
