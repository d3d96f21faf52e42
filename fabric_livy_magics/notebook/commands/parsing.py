"""Option parsing shared by the ``%livy`` subcommands: IPython's own parser and UsageError."""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from IPython.core.error import UsageError
from IPython.core.magic_arguments import parse_argstring

from fabric_livy_magics.errors import ConfigurationError

__all__ = ["MAX_LINE_CHARS", "check_line", "expand_names", "parse", "refuse_inline_secrets", "set_prog", "usage_errors", "usage_of"]

F = TypeVar("F", bound=Callable[..., Any])


def set_prog(prog: str) -> Callable[[F], F]:
    """Name a ``@magic_arguments`` parser as people type it (``%livy connect``), help included.

    Put it above ``@magic_arguments()``: that decorator builds the parser from the function name."""

    def decorate(func: F) -> F:
        parser = func.parser  # type: ignore[attr-defined]
        parser.prog = prog.lstrip("%")  # IPython's help formatter adds the "%"
        func.__doc__ = parser.format_help()
        return func

    return decorate


def parse(func: Callable[..., Any], line: str) -> argparse.Namespace:
    """Parse ``line`` with ``func``'s parser; bad options raise IPython's UsageError (one line),
    unbalanced quotes included (shlex's ValueError)."""
    try:
        return parse_argstring(func, line)
    except ValueError as exc:
        raise UsageError(f"Could not read the options ({exc}): check the quotes.") from None


@contextmanager
def usage_errors() -> Iterator[None]:
    """A ConfigurationError (a bad option or setting, found before any remote call) shown as
    IPython's UsageError: the one place the notebook layer makes that translation."""
    try:
        yield
    except ConfigurationError as exc:
        raise UsageError(str(exc)) from None


def usage_of(func: Callable[..., Any]) -> str:
    """One ``usage:`` line for ``%livy help``."""
    text = func.parser.format_usage()  # type: ignore[attr-defined]
    lines = [line.rstrip() for line in text.splitlines() if line.strip() and line.strip() != "::"]
    return "\n".join(lines)


_SECRET_OPTION = re.compile(r"(?:^|\s)--?(?:[\w-]*(?:secret|password|passwd|token|api-?key)[\w-]*)(?=[\s=]|$)",
                            re.IGNORECASE)
_URL_USERINFO = re.compile(r"https?://[^/\s@]*@", re.IGNORECASE)  # any user:password@, ":pw@" too
_URL_SECRET_QUERY = re.compile(r"[?&](?:[\w-]*(?:token|secret|sig|password|key)[\w-]*)=", re.IGNORECASE)


#: Options of a magic line fit in far less; a longer line is a paste gone wrong, and is refused
#: before anything (the secret check's patterns included) reads it.
MAX_LINE_CHARS = 10_000


_DOLLAR_NAME = re.compile(r"\$\$|\$\{(\w+)\}|\$(\w+)")


def expand_names(line: str, namespace: dict[str, Any]) -> str:
    """``$name`` and ``${name}`` replaced by the notebook variable's text (``$$`` is a ``$``).

    Only names: IPython's own expansion would also evaluate ``{expression}``, running code from
    an option line and turning JSON in ``--conf`` into a Python dict's text. A name that is not
    defined stays as typed."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1) or match.group(2)
        return str(namespace[name]) if name in namespace else match.group(0)

    return _DOLLAR_NAME.sub(replace, line)


def check_line(line: str) -> None:
    """Refuse what no magic line can mean: a line too long, or text Python cannot encode."""
    if len(line) > MAX_LINE_CHARS:
        raise UsageError(f"The magic line is {len(line):,} characters long; options fit in {MAX_LINE_CHARS:,}. "
                         "Put long values (code, JSON) in the cell or a file.")
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError("The magic line holds characters that are not valid text (lone surrogates): "
                         "retype it.") from None
    refuse_inline_secrets(line)


def refuse_inline_secrets(line: str) -> None:
    """Raise UsageError when a magic line carries a secret: notebooks are saved and shared."""
    how = ("Secrets are not accepted as magic options: they would be saved in the notebook and its "
           "history. Use `%livy login` (the form keeps nothing), or set AZURE_CLIENT_SECRET / "
           "FABRIC_ACCESS_TOKEN in the environment.")
    if _SECRET_OPTION.search(line):
        raise UsageError(f"Refused: {how}")
    if _URL_USERINFO.search(line) or _URL_SECRET_QUERY.search(line):
        raise UsageError(f"Refused: the URL carries credentials. {how}")
