"""The ``%livy`` subcommands, one module per group; ``dispatch`` routes a ``%livy`` line.

Adding a group means a module with ``PARSERS`` and handler functions, and its entries in
``HANDLERS``; ``%livy help`` lists it from ``PARSERS``. Handlers raise ConfigurationError for a
bad option or setting (as the library does); ``dispatch`` shows it as IPython's UsageError.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from IPython.core.error import UsageError

from fabric_livy_magics.notebook.commands import (
    admin, batch, connect, data, export, lakehouse, monitoring, output, sessions,
)
from fabric_livy_magics.notebook.commands.named import split_session_option
from fabric_livy_magics.notebook.commands.parsing import usage_errors
from fabric_livy_magics.notebook.commands.state import NotebookState

__all__ = ["HANDLERS", "PARSERS", "NotebookState", "dispatch"]

Handler = Callable[[NotebookState, str], Any]

PARSERS: dict[str, Callable[..., Any]] = {
    "connect": connect.connect_parser_func, **sessions.PARSERS, **data.PARSERS, **batch.PARSERS, **export.PARSERS,
    **admin.PARSERS, **lakehouse.PARSERS, **monitoring.PARSERS, **output.PARSERS,
}


def _connect(state: NotebookState, line: str) -> None:
    print(connect.connect(state, line))


HANDLERS: dict[str, Handler] = {
    "connect": _connect,
    "info": sessions.info,
    "status": sessions.status,
    "logs": monitoring.logs,
    "history": monitoring.history,
    "advice": monitoring.advice,
    "sessions": sessions.sessions,
    "attach": sessions.attach,
    "restart": sessions.restart,
    "stop": sessions.stop,
    "cancel": sessions.cancel,
    "send": data.send,
    "output": output.output,
    "tables": lakehouse.tables,
    "describe": lakehouse.describe,
    "read": lakehouse.read,
    "write": lakehouse.write,
    "send-module": lakehouse.send_module,
    "batch": batch.batch,
    "batches": batch.batches,
    "export": export.export,
    "config": admin.config,
    "login": admin.login,
    "help": lambda state, line: admin.help_(state, line, PARSERS),
}


def dispatch(state: NotebookState, line: str) -> Any:
    """Run ``%livy <command> [options] [-s NAME]`` (``-s``: on the session named NAME, see
    ``named.py``); unknown commands and bad options raise UsageError,
    a ConfigurationError included: this is the one place the notebook's commands make that
    translation. (``LivyMagics.livy`` has already refused secrets in ``line``.)"""
    command, _, rest = line.strip().partition(" ")
    if not command:
        command = "help"
    handler = HANDLERS.get(command)
    if handler is None:
        import difflib

        close = difflib.get_close_matches(command, HANDLERS, n=1)
        hint = f" Did you mean `%livy {close[0]}`?" if close else ""
        raise UsageError(f"Unknown %livy command {command!r}.{hint} See `%livy help`.")
    name = None
    if command != "connect":  # connect reads its own -s: it makes the name
        name, rest = split_session_option(rest)
    with usage_errors(), state.using(name):
        return handler(state, rest)
