"""Option parsing shared by the ``%livy`` subcommands: IPython's own parser and UsageError."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from IPython.core.error import UsageError
from IPython.core.magic_arguments import parse_argstring

from fabric_livy_magics.errors import ConfigurationError

__all__ = ["parse", "set_prog", "usage_errors", "usage_of"]

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
