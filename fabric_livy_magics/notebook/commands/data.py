"""``%livy send NAME [--as REMOTE]``: a local pandas DataFrame becomes a remote Spark DataFrame;
a number, text, True/False, None, list or dict becomes the same remote Python value."""

from __future__ import annotations

from IPython.core.error import UsageError
from IPython.core.magic_arguments import argument, magic_arguments

from fabric_livy_magics.notebook.commands.parsing import parse, set_prog
from fabric_livy_magics.notebook.commands.state import NotebookState

__all__ = ["PARSERS", "send"]


@set_prog("%livy send")
@magic_arguments()
@argument("name", metavar="NAME", help="A pandas DataFrame or a plain value in this notebook.")
@argument("--as", dest="remote", metavar="REMOTE", help="Remote variable name (default: NAME).")
def _send(line: str) -> None:
    """Send a local pandas DataFrame to the session as a Spark DataFrame (typed, via Arrow), or a
    number, text, True/False, None, list or dict as the same Python value (sent as JSON).

    Example: ``%livy send sales --as sales_df`` then ``%%livy`` ``sales_df.count()``;
    ``%livy send cutoff`` with ``cutoff = "2024-01-01"``."""


PARSERS = {"send": _send}


def send(state: NotebookState, line: str) -> None:
    args = parse(_send, line)
    remote = args.remote or args.name
    if args.name not in state.shell.user_ns:
        raise UsageError(f"No variable {args.name!r} in this notebook.")
    frame = state.shell.user_ns[args.name]
    if type(frame).__name__ != "DataFrame" or not type(frame).__module__.startswith("pandas"):
        _send_value(state, args.name, frame, remote)
        return
    from fabric_livy_magics.transfer import send_dataframe
    from fabric_livy_magics.transfer.encode import pandas_to_arrow
    from fabric_livy_magics.transfer.models import validate_send_name

    validate_send_name(remote)  # everything checkable locally, before the session starts
    table = pandas_to_arrow(frame)
    session = state.get_session()
    result = send_dataframe(session.run_text, frame, remote, table=table)
    print(f"Sent {args.name} as remote DataFrame {result.remote_name}: {result.rows:,} rows, "
          f"{result.bytes_transferred:,} characters.")


def _send_value(state: NotebookState, name: str, value: object, remote: str) -> None:
    from fabric_livy_magics.transfer.models import validate_send_name
    from fabric_livy_magics.transfer.values import plain_value, send_value

    validate_send_name(remote)
    plain_value(value, name)  # refused here, before the session starts, if it cannot be sent
    session = state.get_session()
    sent = send_value(session.run_text, value, remote)
    print(f"Sent {name} as remote {sent.type_name} {sent.remote_name} ({sent.chars:,} characters as JSON).")
