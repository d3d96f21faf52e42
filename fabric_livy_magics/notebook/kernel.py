"""A Jupyter kernel in which every cell runs in the remote Spark session unless marked local.

It is an ipykernel underneath (so VS Code and JupyterLab treat it like any Python kernel:
interrupt, restart, widgets, completion) with the extension loaded and one input transformer:

* ``%%local`` as the first line: the rest of the cell runs in the local Python;
* another cell magic (``%%livy -o df``, ``%%livy_sql``, ``%%time``): left as written; Fabric's
  ``%%sql``, ``%%pyspark``, ``%%spark``, ``%%sparkr`` mean ``%%livy_sql`` / ``%%livy -l KIND``;
* a cell made only of line magics / shell escapes (``%livy info``, ``!pip list``): local;
* anything else: run remotely, as if it started with ``%%livy``.

Start it with ``python -m fabric_livy_magics.kernel -f CONNECTION_FILE`` (what ``kernel.json``
says); ``fabric-livy install-kernel`` registers it with Jupyter.
"""

from __future__ import annotations

import enum
from typing import Any

from ipykernel.ipkernel import IPythonKernel

from fabric_livy_magics import __version__

__all__ = ["CellTarget", "LivyKernel", "classify_cell", "route_cell", "main"]

LOCAL_MARKER = "%%local"


class CellTarget(enum.Enum):
    REMOTE = "remote"
    LOCAL = "local"  # marked %%local: the marker line is dropped
    AS_WRITTEN = "as_written"  # magics the person typed: IPython handles them as usual


def _meaningful_lines(lines: list[str]) -> list[str]:
    return [line for line in lines if line.strip() and not line.lstrip().startswith("#")]


def classify_cell(code: str) -> CellTarget:
    """Decide where a cell runs. Blank and comment-only cells stay local (nothing to send)."""
    lines = _meaningful_lines(code.splitlines())
    if not lines:
        return CellTarget.AS_WRITTEN
    first = lines[0].lstrip()
    if first.split(maxsplit=1)[0] == LOCAL_MARKER:
        return CellTarget.LOCAL
    if first.startswith("%%"):
        return CellTarget.AS_WRITTEN
    if all(line.lstrip().startswith(("%", "!")) for line in lines):
        return CellTarget.AS_WRITTEN
    return CellTarget.REMOTE


def route_cell(lines: list[str]) -> list[str]:
    """IPython cleanup transformer: rewrite a cell so that it runs where ``classify_cell`` says."""
    code = "".join(lines)
    target = classify_cell(code)
    if target is CellTarget.AS_WRITTEN:
        return lines
    if target is CellTarget.LOCAL:
        kept: list[str] = []
        dropped = False
        for line in lines:
            if not dropped and line.strip().split(maxsplit=1)[:1] == [LOCAL_MARKER]:
                dropped = True
                continue
            kept.append(line)
        return kept
    return ["%%livy\n", *lines]


class LivyKernel(IPythonKernel):
    """ipykernel with ``%%livy`` implied on every cell."""

    implementation = "fabric_livy_magics"
    implementation_version = __version__
    banner = (
        "PySpark on Fabric (Livy): cells run in a remote Spark session.\n"
        "%%local runs a cell here; %livy help lists the commands."
    )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.shell.run_line_magic("load_ext", "fabric_livy_magics")
        from fabric_livy_magics.notebook.habits import register_habits

        register_habits(self.shell)  # %%sql, %%pyspark, ... as Fabric notebooks spell them
        # Cleanup transformers see the raw cell before IPython parses magics.
        self.shell.input_transformers_cleanup.append(route_cell)
        self._start_session_early()

    def _start_session_early(self) -> None:
        """With a target configured, or a session this notebook left running before a restart,
        start (or re-attach) the session in the background now: the first cell finds it ready."""
        from fabric_livy_magics.livy.targets import configured_endpoint
        from fabric_livy_magics.notebook.commands.cell import state_of
        from fabric_livy_magics.notebook.commands.eager import eager_mode

        try:
            state = state_of(self.shell)
            remembered = state.reattach is not None and state.reattach.quietly_restorable("")
            if eager_mode() != "0" and (remembered or configured_endpoint() is not None):
                state.start_in_background()
        except Exception as exc:  # the first cell says what is wrong, in its own words
            self.log.info("No early session start: %s", exc)

    def do_complete(self, code: str, cursor_pos: int) -> Any:
        """Complete from the remote namespace when the cell runs remotely, else locally."""
        if classify_cell(code) is CellTarget.REMOTE:
            from fabric_livy_magics.notebook.commands.cell import complete_remote

            try:
                matches, start, end = complete_remote(self.shell, code, cursor_pos)
            except Exception:  # completion must never break typing: fall back to local names
                matches, start, end = [], cursor_pos, cursor_pos
            if matches:
                return {"status": "ok", "matches": matches, "cursor_start": start,
                        "cursor_end": end, "metadata": {}}
        return super().do_complete(code, cursor_pos)

    def do_shutdown(self, restart: bool) -> Any:
        """Delete the notebook's remote session now rather than relying on interpreter exit; a
        restart leaves it running for the restarted kernel to re-attach (FABRIC_LIVY_REATTACH)."""
        from fabric_livy_magics.notebook.commands.cell import state_of
        from fabric_livy_magics.notebook.magics import unregister

        try:
            if restart:
                state_of(self.shell).shutdown(restart=True)
            unregister(self.shell)
        except Exception as exc:  # shutting down must not fail because the server is gone
            self.log.warning("Could not stop the remote session: %s", exc)
        return super().do_shutdown(restart)


def main() -> None:
    from ipykernel.kernelapp import IPKernelApp

    IPKernelApp.launch_instance(kernel_class=LivyKernel)


if __name__ == "__main__":
    main()
