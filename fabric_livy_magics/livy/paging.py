"""Walking lists and logs that come a page at a time (sessions, batches, log lines). No I/O."""

from __future__ import annotations

from typing import Any, Callable, Iterator, Sequence, TypeVar

from fabric_livy_magics.errors import MalformedResponse
from fabric_livy_magics.livy.models import SessionLog

__all__ = ["iter_pages", "log_query", "log_window"]

T = TypeVar("T")


#: A listing longer than this is taken for a server that pages endlessly.
MAX_PAGES = 10_000


def iter_pages(list_page: Callable[[int, int], tuple[Sequence[T], int | None]],
               page_size: int, *, what: str = "list") -> Iterator[T]:
    """Every item: ``list_page(start, size)`` returns one page's items and the total (if known).

    Stops at a short or empty page, once ``total`` items were seen, or when the server answers
    the page it has just sent again (it ignores ``from``: that page was the whole listing)."""
    start, previous = 0, None
    for _ in range(MAX_PAGES):
        items, total = list_page(start, page_size)
        if previous is not None and list(items) == previous:
            return
        yield from items
        start += len(items)
        if not items or len(items) < page_size or (total is not None and start >= total):
            return
        previous = list(items)
    raise MalformedResponse(f"The server's {what} did not end after {MAX_PAGES:,} pages of {page_size}; "
                            "it does not page as Livy does.")


def log_window(lines: Sequence[str], start: int | None, size: int) -> SessionLog:
    """``size`` lines from ``start`` of a log the server sent whole (Fabric has no ``/log``
    route); ``start=None`` means the last ``size`` lines."""
    first = max(0, len(lines) - size) if start is None else start
    return SessionLog(lines=tuple(lines[first:first + size]), start=first, total=len(lines))


def log_query(start: int | None, size: int) -> dict[str, Any]:
    """Query of Livy's ``/log`` route (sessions and batches); no ``from`` means the last lines."""
    return {"size": size} if start is None else {"size": size, "from": start}
