"""``%livy config|login|help``: what is configured, signing in, and the command list."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from IPython.core.magic_arguments import argument, magic_arguments

from fabric_livy_magics.notebook.commands.parsing import parse, set_prog, usage_of
from fabric_livy_magics.notebook.commands.state import NotebookState
from fabric_livy_magics.livy.settings import mask, set_settings

__all__ = ["PARSERS", "config", "help_text", "login"]


@set_prog("%livy config")
@magic_arguments()
def _config(line: str) -> None:
    """Show the effective configuration (secrets masked) and where each value can be set."""


@set_prog("%livy login")
@magic_arguments()
@argument("--auth", "--method", dest="auth", metavar="METHOD",
          help="Sign-in method (default: the configured one).")
@argument("--text", action="store_true", help="Plain-text sign-in even where widgets work.")
def _login(line: str) -> None:
    """Sign in to Microsoft Fabric: a form in notebooks, text prompts elsewhere.

    Secrets are typed into the form or a hidden prompt, never into the magic line."""


@set_prog("%livy help")
@magic_arguments()
def _help(line: str) -> None:
    """List the %livy commands."""


PARSERS = {"config": _config, "login": _login, "help": _help}


def config(state: NotebookState, line: str) -> None:
    parse(_config, line)
    settings = state.settings()
    lines = ["LivyMagics settings (%config LivyMagics.<name> = value):"]
    for field in dataclasses.fields(settings):
        value = getattr(settings, field.name)
        shown = "0 (no limit)" if field.name == "statement_timeout" and not value else repr(value)
        lines.append(f"  {field.name:<24}{shown}")
    target, options = state.target, state.options
    lines.append("Target:")
    if target is None:
        lines.append("  (not chosen yet: the first cell uses the default; see `%livy help`)")
    else:
        lines.append(f"  endpoint                {target.endpoint.root}")
        lines.append(f"  sign-in                 {target.auth_method or 'none'}")
    if options is not None:
        lines.append("Session options:")
        for field in dataclasses.fields(options):
            value = getattr(options, field.name)
            if field.name == "conf":
                value = {k: mask(k, v) for k, v in dict(value).items()}
            lines.append(f"  {field.name:<24}{value!r}")
    session = state.session
    lines.append(f"Session                   {session.session_id if session and session.started else '-'}")
    environment = set_settings()
    if environment:
        lines.append("Environment:")
        lines.extend(f"  {name:<34}{value}" for name, value in environment)
    else:
        lines.append("Environment: none of the FABRIC_*/AZURE_*/LIVY_* settings is set.")
    print("\n".join(lines))


def login(state: NotebookState, line: str) -> None:
    """Show the sign-in form (or text prompts); the result signs requests from then on."""
    args = parse(_login, line)
    from fabric_livy_magics.auth.settings import normalize_method

    method = normalize_method(args.auth) if args.auth else None

    def signed_in(result: Any) -> None:
        state.signed_in = result
        _apply_sign_in(state, result)

    if not args.text and _widgets_work(state.shell):
        from IPython.display import display

        from fabric_livy_magics.auth.settings import resolve_auth_settings
        from fabric_livy_magics.notebook.widgets import LoginForm

        settings = resolve_auth_settings({"method": method} if method else None)
        display(LoginForm(settings=settings, on_sign_in=signed_in))
        return
    from fabric_livy_magics.notebook.widgets import login_text

    # A notebook never prompts on standard input: a kernel may have none, and a prompt would hang.
    signed_in(login_text(method, ask_secret=None))


def _widgets_work(shell: Any) -> bool:
    if getattr(shell, "kernel", None) is None:
        return False
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return False
    return True


def _apply_sign_in(state: NotebookState, result: Any) -> None:
    """After sign-in: use the lakehouse the form named if nothing is connected yet, and the token."""
    from fabric_livy_magics.livy.targets import SessionOptions, build_target, fabric_endpoint

    connection = result.connection
    if state.target is None and connection.is_complete:
        endpoint = fabric_endpoint(connection)
        options = SessionOptions(kind=state.settings().default_kind,
                                 environment_id=connection.environment_id)
        state.set_target(build_target(endpoint, None, signed_in=state.signed_in), options)
        print(f"Connected to {state.target.description if state.target else endpoint.root}.")
    elif state.target is not None and state.target.local_server is None and (
            state.session is None or not state.session.started):
        options = state.options
        state.set_target(build_target(state.target.endpoint, None, signed_in=state.signed_in),
                         options)  # type: ignore[arg-type]


_CELL_MAGICS = """\
%%livy [-l LANG] [-o NAME] [-n N] [-q] [--timeout S]
                       run the cell remotely (LANG: pyspark, sql, spark, sparkr)
%%livy_sql [-o NAME] [-n N] [-q] [--timeout S]
                       run Spark SQL, shown as a table
%%local                run the cell in this notebook's own Python"""

_DEFAULT_TARGET = """\
Without `%livy connect`, the first cell uses FABRIC_LIVY_CONNECTION_STRING or
FABRIC_WORKSPACE_ID + FABRIC_LAKEHOUSE_ID (Fabric), else FABRIC_LIVY_URL / LIVY_URL (Livy), else
the embedded local server. More: `%livy?` and `%%livy_sql?`."""


def _summary(func: Callable[..., Any]) -> str:
    """The first sentence of a subcommand's own description (its docstring)."""
    text = (func.parser.description or "").strip()  # type: ignore[attr-defined]
    first = text.splitlines()[0] if text else ""
    return first.split(" Example::")[0].rstrip(":")


def help_text(parsers: dict[str, Callable[..., Any]]) -> str:
    """The cell magics, then one line per ``%livy`` subcommand and its usage, all from the
    command table: a command added there is listed here without another edit."""
    listing = [f"%livy {name:<15}{_summary(func)}" for name, func in parsers.items()]
    usages = "\n".join(usage_of(func) for func in parsers.values())
    return "\n".join([_CELL_MAGICS, *listing, "", _DEFAULT_TARGET, "", "Options:", usages])


def help_(state: NotebookState, line: str, parsers: dict[str, Callable[..., Any]]) -> None:
    parse(_help, line)
    print(help_text(parsers))
