"""``%livy`` and ``%%livy``: declarations and settings only; the work happens in ``commands``.

Settings are traits, so ``%config LivyMagics.maxrows = 5000`` and ``c.LivyMagics.maxrows`` in
``ipython_config.py`` work. Precedence: default < environment variable < ipython_config.py /
``%config`` < the magic's own option.
"""

from __future__ import annotations

import atexit
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_cell_magic, magics_class, no_var_expand
from IPython.core.magic_arguments import argument, magic_arguments
from traitlets import Bool, Float, Int, Unicode, default

from fabric_livy_magics.livy.settings import env_bool, env_float, env_int, env_text, setting_for
from fabric_livy_magics.livy.targets import KINDS
from fabric_livy_magics.notebook.commands import dispatch
from fabric_livy_magics.notebook.commands.cell import CellRequest, run_cell
from fabric_livy_magics.notebook.commands.connect import default_target
from fabric_livy_magics.notebook.commands.parsing import check_line, expand_names, parse
from fabric_livy_magics.notebook.commands.reattach import Reattacher
from fabric_livy_magics.notebook.commands.state import NotebookState
from fabric_livy_magics.notebook.settings import MagicSettings

__all__ = ["LivyMagics", "register", "unregister"]

#: The defaults each trait falls back to when its environment variable is not set.
_DEFAULTS = MagicSettings()


def _env(trait: str) -> tuple[str]:
    """The environment variable that seeds ``trait`` (the registry, ``livy/settings.SETTINGS``)."""
    return (setting_for(f"LivyMagics.{trait}").name,)


def _help(trait: str) -> str:
    """A trait's help: its meaning and variable, from the registry."""
    setting = setting_for(f"LivyMagics.{trait}")
    return f"{setting.meaning} Env {setting.name}."


class LocalCellFailed(Exception):
    """A ``%%local`` cell raised; IPython already showed why, so this shows one line."""

    def _render_traceback_(self) -> list[str]:
        return [str(self)]


@magics_class
class LivyMagics(Magics):
    """Run notebook cells in a remote Spark session (Microsoft Fabric or Apache Livy).

    ``%%livy`` runs the cell remotely; ``%livy <command>`` manages the session — ``%livy help``
    lists the commands. Example::

        %livy connect --connection-string https://api.fabric.microsoft.com/v1/workspaces/.../sessions
        %%livy -o top
        top = spark.sql("select * from sales order by amount desc limit 10")
    """

    maxrows = Int(help=_help("maxrows")).tag(config=True)
    default_kind = Unicode(help=_help("default_kind")).tag(config=True)
    statement_timeout = Float(help=_help("statement_timeout")).tag(config=True)
    session_start_timeout = Float(help=_help("session_start_timeout")).tag(config=True)
    keepalive_interval = Float(help=_help("keepalive_interval")).tag(config=True)
    auto_local = Bool(help=_help("auto_local")).tag(config=True)
    progress_delay = Float(_DEFAULTS.progress_delay,
                           help="Seconds before a progress line appears.").tag(config=True)
    local_master = Unicode(help=_help("local_master")).tag(config=True)

    @default("maxrows")
    def _default_maxrows(self) -> int:
        return env_int(_env("maxrows"), _DEFAULTS.maxrows)

    @default("default_kind")
    def _default_kind(self) -> str:
        kind = env_text(_env("default_kind"), "").lower()
        return kind if kind in KINDS else _DEFAULTS.default_kind

    @default("statement_timeout")
    def _default_statement_timeout(self) -> float:
        return env_float(_env("statement_timeout"), 0.0)

    @default("session_start_timeout")
    def _default_start_timeout(self) -> float:
        return env_float(_env("session_start_timeout"), _DEFAULTS.session_start_timeout)

    @default("keepalive_interval")
    def _default_keepalive(self) -> float:
        return env_float(_env("keepalive_interval"), _DEFAULTS.keepalive_interval)

    @default("auto_local")
    def _default_auto_local(self) -> bool:
        return env_bool(_env("auto_local"), _DEFAULTS.auto_local)

    @default("local_master")
    def _default_local_master(self) -> str:
        return env_text(_env("local_master"), _DEFAULTS.local_master)

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        super().__init__(shell=shell, **kwargs)
        self.state = NotebookState(shell, self.settings, default_target, Reattacher(shell))

    def settings(self) -> MagicSettings:
        """The traits as a frozen snapshot for the core."""
        if self.default_kind not in KINDS:
            raise UsageError(f"LivyMagics.default_kind must be one of {', '.join(KINDS)}.")
        return MagicSettings(
            maxrows=self.maxrows, default_kind=self.default_kind,
            statement_timeout=self.statement_timeout or None,
            session_start_timeout=self.session_start_timeout,
            keepalive_interval=self.keepalive_interval, auto_local=self.auto_local,
            progress_delay=self.progress_delay, local_master=self.local_master)

    @magic_arguments()
    @argument("-l", "--language", choices=KINDS, help="Language of this cell (default: the session's).")
    @argument("-o", "--output", metavar="NAME",
              help="Bring the remote DataFrame NAME (SQL: the query result) into this notebook "
                   "as pandas DataFrame NAME.")
    @argument("-n", "--maxrows", type=int, metavar="N", help="Rows to bring back (-1: all).")
    @argument("--sample", type=float, metavar="FRACTION",
              help="With -o: a random sample of this fraction of the rows (Spark's sample).")
    @argument("-q", "--quiet", action="store_true", help="Show no result or progress.")
    @argument("-s", "--session", metavar="NAME", help="Run in the session named NAME (made by `%%livy connect -s NAME`).")
    @argument("--timeout", type=float, metavar="S", help="Seconds to wait for the statement.")
    @no_var_expand  # only `$name` is expanded (expand_names): JSON in --conf stays, nothing evaluated
    @line_cell_magic
    def livy(self, line: str, cell: str | None = None) -> Any:
        """``%%livy``: run the cell in the notebook's remote Spark session.
        ``%livy COMMAND``: manage the session, its sign-in and batch jobs; ``%livy help`` lists
        every command with its options.
        """
        check_line(line)
        line = expand_names(line, self.shell.user_ns)
        check_line(line)
        if cell is None:
            return dispatch(self.state, line)
        args = parse(self.livy, line)
        with self.state.using(args.session):
            run_cell(self.state, CellRequest(code=cell, language=args.language, output=args.output,
                                             maxrows=args.maxrows, quiet=args.quiet,
                                             timeout=args.timeout, sample=args.sample))
        return None

    @magic_arguments()
    @argument("-o", "--output", metavar="NAME", help="Store the result as pandas DataFrame NAME.")
    @argument("-n", "--maxrows", type=int, metavar="N", help="Rows to bring back (-1: all).")
    @argument("--sample", type=float, metavar="FRACTION",
              help="A random sample of this fraction of the rows (Spark's sample).")
    @argument("-q", "--quiet", action="store_true", help="Show no result or progress.")
    @argument("-s", "--session", metavar="NAME", help="Run in the session named NAME (made by `%%livy connect -s NAME`).")
    @argument("--timeout", type=float, metavar="S", help="Seconds to wait for the query.")
    @no_var_expand
    @cell_magic
    def livy_sql(self, line: str, cell: str) -> Any:
        """Run Spark SQL in the notebook's remote session; the result is shown as a table.

        Example::

            %%livy_sql -o top
            select * from sales order by amount desc limit 10
        """
        check_line(line)
        line = expand_names(line, self.shell.user_ns)
        check_line(line)
        args = parse(self.livy_sql, line)
        with self.state.using(args.session):
            run_cell(self.state, CellRequest(code=cell, language="sql", output=args.output,
                                             maxrows=args.maxrows, quiet=args.quiet,
                                             timeout=args.timeout, sample=args.sample))
        return None

    @cell_magic
    def local(self, line: str, cell: str) -> Any:
        """Run the cell in this notebook's own Python, not remotely.

        Cells are local anyway in a Python kernel; in the "PySpark on Fabric (Livy)" kernel,
        where cells run remotely by default, ``%%local`` is how a cell stays here. Notebooks that
        mark their local cells with it run unchanged in both kernels.
        """
        if line.strip():
            raise UsageError("%%local takes no options.")
        result = self.shell.run_cell(cell, store_history=False)
        if not result.success:  # its traceback is shown already; fail this cell so "Run all" stops
            raise LocalCellFailed("The local cell failed: see the traceback above.")
        return None


_registered: dict[int, tuple[LivyMagics, Any]] = {}


def register(ipython: Any) -> None:
    """Register the magics on ``ipython`` and arrange cleanup at interpreter exit."""
    if id(ipython) in _registered:
        return
    magics = LivyMagics(shell=ipython)
    ipython.register_magics(magics)
    from fabric_livy_magics.notebook.completion import install_completion

    install_completion(ipython, magics.state)  # table and column names in SQL cells
    from fabric_livy_magics.notebook.command_completion import install_command_completion

    install_command_completion(ipython, magics)  # subcommands and options after %livy, %%livy
    from fabric_livy_magics.notebook.commands.configure import register_configure

    register_configure(ipython)  # %%configure {JSON}, as Fabric and sparkmagic notebooks start

    def at_exit() -> None:
        magics.state.shutdown()

    atexit.register(at_exit)
    _registered[id(ipython)] = (magics, at_exit)


def unregister(ipython: Any) -> None:
    """``%unload_ext``: stop the session (unless kept) and forget the exit hook."""
    entry = _registered.pop(id(ipython), None)
    if entry is None:
        return
    magics, at_exit = entry
    atexit.unregister(at_exit)
    from fabric_livy_magics.notebook.completion import remove_completion

    remove_completion(ipython)
    from fabric_livy_magics.notebook.command_completion import remove_command_completion

    remove_command_completion(ipython)
    from fabric_livy_magics.notebook.commands.configure import unregister_configure

    unregister_configure(ipython)
    try:
        magics.state.shutdown()
    finally:
        registry = ipython.magics_manager
        for kind in ("line", "cell"):
            for name in ("livy", "livy_sql", "local"):
                registry.magics[kind].pop(name, None)
        registry.registry.pop(LivyMagics.__name__, None)
