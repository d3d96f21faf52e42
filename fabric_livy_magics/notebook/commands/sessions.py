"""``%livy info|status|sessions|attach|restart|stop|cancel``: look at and steer the session
(``monitoring.py`` has its logs, history and advice). Each takes ``-s NAME`` for a named
session (``commands.dispatch`` reads it)."""

from __future__ import annotations

import html
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic_arguments import argument, magic_arguments

from fabric_livy_magics.notebook.commands.parsing import parse, set_prog
from fabric_livy_magics.notebook.commands.state import NotebookState
from fabric_livy_magics.errors import SessionNotFound
from fabric_livy_magics.livy.lifecycle import ManagedSession

__all__ = ["PARSERS", "attach", "cancel", "info", "restart", "sessions", "status", "stop"]


def _no_args(prog: str, doc: str) -> Any:
    @set_prog(prog)
    @magic_arguments()
    def func(line: str) -> None:
        pass

    func.parser.description = doc
    func.__doc__ = func.parser.format_help()
    return func


_info = _no_args("%livy info", "Session id, state, Spark application id, Spark UI link, elapsed time, "
                "start phases, vCores and an estimate of the capacity units used so far.")
_status = _no_args("%livy status", "One line: the session's state (no session is started).")
_sessions = _no_args("%livy sessions", "List the server's sessions as a table, marking those this "
                    "notebook holds (by name for named ones).")
_restart = _no_args("%livy restart", "Delete this notebook's session and start a new one now.")
_stop = _no_args("%livy stop", "Delete this notebook's session; the next cell starts a new one.")
_cancel = _no_args("%livy cancel", "Cancel this notebook's running statement (e.g. after --timeout).")


@set_prog("%livy attach")
@magic_arguments()
@argument("session_id", metavar="ID", help="Session id, as listed by the sessions command.")
def _attach(line: str) -> None:
    """Use an existing session in this notebook. It is not deleted when the kernel shuts down."""


PARSERS = {"info": _info, "status": _status, "sessions": _sessions,
           "attach": _attach, "restart": _restart, "stop": _stop, "cancel": _cancel}


def _fmt_elapsed(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m {secs:02d}s" if hours else f"{minutes}m {secs:02d}s"


def _running(state: NotebookState) -> ManagedSession | None:
    """The notebook's session if one was started. Never starts one, nor a local server."""
    session = state.session
    return session if session is not None and session.started else None


def _no_session_yet(state: NotebookState) -> str:
    where = f" ({state.target.description})" if state.target else ""
    if state.slot.starter is not None and state.slot.starter.running:
        return f"The session is starting in the background{where}: {state.slot.starter.relay.state or 'submitted'}."
    return f"No session yet: one starts on the first %%livy cell{where}."


def _idle_note(state: NotebookState, session: ManagedSession, idle: float | None) -> str | None:
    from fabric_livy_magics.livy.session_info import idle_note

    target = state.target
    return idle_note(session.session_id, idle, keepalive=session.keepalive_interval > 0,
                     is_fabric=bool(target and target.is_fabric))


def info(state: NotebookState, line: str) -> None:
    parse(_info, line)
    from IPython.display import display

    session = _running(state)
    snapshot = session.info() if session is not None else None
    if session is None or snapshot is None:
        print(_no_session_yet(state))
        return
    target = state.target
    where = target.description if target else session.client.endpoint.root
    rows = [("Session", str(snapshot.session_id)), ("State", snapshot.state),
            ("Kind", snapshot.kind), ("Server", where),
            ("Application id", snapshot.app_id or "-"),
            ("Spark UI", snapshot.spark_ui_url or "-"),
            ("Elapsed", _fmt_elapsed(snapshot.elapsed)),
            ("Statements", str(snapshot.statements))]
    if snapshot.high_concurrency_id:
        rows.append(("High-concurrency", f"{snapshot.high_concurrency_id} (REPL {snapshot.repl_id})"))
    clock = session.start_phases
    if clock is not None and clock.summary():
        rows.append(("Start", f"{clock.total:.0f} s ({clock.summary()})"))
    if snapshot.usage is not None:
        rows.append(("Capacity", snapshot.usage.text()))
    note = _idle_note(state, session, snapshot.idle)
    if note:
        rows.append(("Idle", note))
    if state.name:
        rows.insert(0, ("Name", state.name))
    if not snapshot.owned:
        rows.append(("Attached", "yes (kept at shutdown)"))
    elif session.options.keep:
        rows.append(("Kept at shutdown", "yes (--keep)"))
    text = "\n".join(f"{k:<17}{v}" for k, v in rows)

    def cell(key: str, value: str) -> str:
        if key == "Spark UI" and value.startswith("http"):
            return f'<a href="{html.escape(value)}" target="_blank">{html.escape(value)}</a>'
        return html.escape(value)

    table = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th><td style='text-align:left'>"
                    f"{cell(k, v)}</td></tr>" for k, v in rows)
    display({"text/plain": text, "text/html": f"<table>{table}</table>"}, raw=True)


def status(state: NotebookState, line: str) -> None:
    parse(_status, line)
    session = _running(state)
    if session is None:
        print(_no_session_yet(state))
        return
    try:
        current = session.refresh()
    except SessionNotFound:
        print(f"Session {session.session_id}: gone from the server. Run `%livy restart`.")
        return
    phase = getattr(current, "phase", "unknown")
    print(f"Session {session.session_id}: {phase}")
    if current is not None and not hasattr(current, "repl_id"):
        from fabric_livy_magics.livy.session_info import idle_seconds

        note = _idle_note(state, session, idle_seconds(current))
        if note:
            print(note)


def sessions(state: NotebookState, line: str) -> None:
    parse(_sessions, line)
    import pandas as pd
    from IPython.display import display

    session = state.get_session()
    root = session.client.endpoint.root
    held: dict[Any, list[str]] = {}  # session id on this server -> how this notebook names it
    elsewhere = []
    for name, slot in state.slots().items():
        other = slot.session
        if other is not None and other.started:
            if other.client.endpoint.root == root:
                held.setdefault(other.session_id, []).append(name or "yes")
            else:
                elsewhere.append(f"{name or 'default'}: session {other.session_id} on {other.client.endpoint.root}")
    if elsewhere:
        print("This notebook also holds " + "; ".join(elsewhere) + ".")
    rows = []
    for item in session.client.iter_sessions():
        rows.append({"id": str(item.id), "name": item.name or "-", "state": item.phase,
                     "kind": str(item.kind) if item.kind else "-", "app_id": item.app_id or "-",
                     "this notebook": ", ".join(held.get(item.id, []))})
    if not rows:
        print(f"No sessions on {session.client.endpoint.root}.")
        return
    display(pd.DataFrame(rows).set_index("id"))  # the id is the row label: no 0, 1, 2 index


def attach(state: NotebookState, line: str) -> None:
    args = parse(_attach, line)
    session = state.get_session()
    parsed = session.client.endpoint.parse_session_id(args.session_id)
    found = session.client.get_session(parsed)  # a wrong id fails here, before anything changes
    if found.has_failed:
        raise UsageError(f"Session {parsed} is {found.phase}: it cannot run code. Nothing was changed.")
    note = ""
    if session.started and session.session_id != parsed:
        old = session.session_id
        deleted = session.stop(force=False)
        note = f" Session {old} was deleted." if deleted is not None else f" Session {old} is left running."
    attached = session.attach(parsed)
    print(f"Attached to session {attached.id} ({attached.phase}). It is kept when the kernel shuts down.{note}")


def restart(state: NotebookState, line: str) -> None:
    parse(_restart, line)
    session = state.get_session()
    old, attached = session.session_id, not session.owned
    target = session.restart()
    if old is None:
        was = ""
    elif attached:
        was = f" (session {old} was attached, so it is left running)"
    else:
        was = f" (session {old} deleted)"
    print(f"Session {target.session_id} is ready{was}.")


def stop(state: NotebookState, line: str) -> None:
    parse(_stop, line)
    session = _running(state)
    if session is None and state.slot.starter is not None:
        state.close_session()  # the background start goes on; its session is deleted once up
        print("The session starting in the background is deleted as soon as it is up. "
              "The next %%livy cell starts a new one.")
        return
    if session is None:
        print("No session to stop.")
        return
    deleted = session.stop(force=True)
    print(f"Session {deleted} deleted. The next %%livy cell starts a new one.")


def cancel(state: NotebookState, line: str) -> None:
    parse(_cancel, line)
    session = _running(state)
    if session is None:
        print("No session, nothing to cancel.")
        return
    cancelled = session.cancel()
    print(f"Statement {cancelled} cancelled." if cancelled is not None else "Nothing is running.")
