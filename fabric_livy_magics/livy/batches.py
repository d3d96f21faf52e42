"""``BatchClient``: Spark batch jobs (a whole PySpark file or JAR run as one job) over ``LivyClient``.

Both halves of the API share one client and one connection pool::

    with LivyClient("http://127.0.0.1:8998") as client:
        batches = BatchClient(client)
        batch = batches.create_batch("job.py", args=["2024-01-01"])
        done = batches.wait_for_batch(batch.id, on_state_change=lambda b: print(b.phase))
        print(done.state, batches.get_batch_log(done.id).lines[-5:])

Retries follow ``client.py``: GET and DELETE are retried below us (urllib3, ``Retry-After``);
``POST batches`` starts a Spark job, so it is resent only after a clear refusal (connection not
opened, 429/430). After any other failure it raises and says to list batches first.

Files: a plain path or ``file://`` URL is checked here before anything is sent and, for a
loopback server (which shares this machine's disk), made absolute. Any other scheme
(``abfss://`` on Fabric, ``hdfs://``, ``s3a://`` ...) is passed through untouched.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Unpack
from urllib.parse import unquote, urlsplit

from fabric_livy_magics.livy.client import LivyClient
from fabric_livy_magics.livy.endpoints import Endpoint, FabricEndpoint
from fabric_livy_magics.errors import (
    BatchFailed,
    BatchNotFound,
    ConfigurationError,
    LivyError,
    LivyTimeout,
    MalformedResponse,
)
from fabric_livy_magics.livy.models import Batch, BatchPage, BatchState, SessionId, SessionLog
from fabric_livy_magics.livy.paging import iter_pages, log_query, log_window
from fabric_livy_magics.livy.polling import PollPolicy, poll_until
from fabric_livy_magics.livy.bodies import ResourceOptions, SparkResources

__all__ = [
    "BATCH_LOG_LINES",
    "BATCH_TAIL_LINES",
    "BatchClient",
    "BatchOptions",
    "BatchFailed",
    "BatchNotFound",
    "BATCH_POLL",
    "TARGET_LAKEHOUSE_CONF_KEY",
    "parse_batch_id",
    "resolve_batch_file",
]

log = logging.getLogger(__name__)

#: Fabric: the lakehouse a batch job reads and writes by default.
TARGET_LAKEHOUSE_CONF_KEY = "spark.targetLakehouse"
#: Batches take seconds (local) to many minutes (Fabric): start at 0.5 s, cap at 5 s (the
#: Fabric docs' own sample polls every 5 s).
BATCH_POLL = PollPolicy(first=0.5, factor=1.5, cap=5.0)


#: Log lines ``batch logs`` shows by default, and those shown after ``batch submit --wait``:
#: one default for the magics and the command line.
BATCH_LOG_LINES = 100
BATCH_TAIL_LINES = 20


def parse_batch_id(endpoint: Endpoint, value: SessionId) -> SessionId:
    """A user-typed batch id in the endpoint's type: int for Livy, GUID for Fabric."""
    return endpoint.parse_id(value, "batch")


def resolve_batch_file(path: str, endpoint: Endpoint) -> str:
    """What to send as ``file``: remote URLs untouched; a local file checked (and made absolute
    for a loopback server). Raises ConfigurationError for a missing local file."""
    text = str(path).strip()
    if not text:
        raise ConfigurationError("No batch file given: name a .py or .jar file.")
    scheme = urlsplit(text).scheme.lower()
    if scheme and scheme != "file" and len(scheme) > 1:  # len>1: not a Windows drive letter
        return text  # abfss://, hdfs://, s3a://, https://: the cluster reads it, not us
    local = Path(unquote(urlsplit(text).path) if scheme == "file" else text).expanduser()
    if not endpoint.is_loopback:
        if isinstance(endpoint, FabricEndpoint):
            raise ConfigurationError(
                f"Fabric cannot read {text!r} from this machine. Upload it to OneLake (e.g. the "
                "lakehouse's Files) and give its abfss://...onelake.dfs.fabric.microsoft.com/... path.")
        return text  # a path on the remote Livy server's own disk: it checks
    if not local.is_file():
        what = "is a directory, not a file" if local.is_dir() else "does not exist"
        raise ConfigurationError(f"Batch file {str(local)!r} {what}. Check the path and try again.")
    return str(local.resolve())


class BatchOptions(ResourceOptions, total=False):
    """What a batch takes besides the Spark settings of :class:`SparkResources`."""

    class_name: str | None
    args: Sequence[str]
    jars: Sequence[str]
    py_files: Sequence[str]
    files: Sequence[str]
    archives: Sequence[str]
    target_lakehouse: str | None


_JOB_FIELDS = ("class_name", "args", "jars", "py_files", "files", "archives", "target_lakehouse")


class BatchClient:
    """Typed batch calls over a :class:`LivyClient` (its session, auth, timeouts and retries).

    It sends through the client's request machinery (``http_core.py``: ``call`` for repeatable
    requests, ``post_refusable`` for ``POST batches``) on purpose: batches are the other half of
    the same REST API, in the same layer, and that machinery is not for code above it."""

    def __init__(self, client: LivyClient, *, poll: PollPolicy = BATCH_POLL) -> None:
        self.client = client
        self.poll = poll

    @property
    def endpoint(self) -> Endpoint:
        return self.client.endpoint

    def __repr__(self) -> str:
        return f"BatchClient({self.client!r})"

    def _request(self, method: str, url: str, what: str, **kwargs: Any) -> Any:
        """A repeatable request through the client's machinery; a 404 is :class:`BatchNotFound`."""
        return self.client.http.call(method, url, what=what, not_found=BatchNotFound, **kwargs)

    # --- create --------------------------------------------------------------------------

    def batch_body(self, file: str, resources: SparkResources | None = None,
                   **options: Unpack[BatchOptions]) -> dict[str, Any]:
        """The request body, checked; no I/O except looking at a local ``file``. The job's own
        fields are those of :class:`BatchOptions`; the Spark settings are ``resources`` and/or
        the keyword options of :class:`SparkResources`."""
        job = {key: options.pop(key) for key in _JOB_FIELDS if key in options}  # type: ignore[misc]
        spark = SparkResources.of(resources, **options)
        body: dict[str, Any] = {"file": resolve_batch_file(file, self.endpoint)}
        if job.get("class_name") is not None:
            body["className"] = job["class_name"]
        for key, field in (("args", "args"), ("jars", "jars"), ("pyFiles", "py_files"),
                           ("files", "files"), ("archives", "archives")):
            if job.get(field):
                body[key] = [str(v) for v in job[field]]
        lakehouse = job.get("target_lakehouse")
        also = {TARGET_LAKEHOUSE_CONF_KEY: str(lakehouse)} if lakehouse else None
        body.update(spark.request_fields(self.endpoint, "batches", also_conf=also))
        return body

    def create_batch(self, file: str, resources: SparkResources | None = None,
                     **options: Unpack[BatchOptions]) -> Batch:
        """Submit a batch job (Livy 201 / Fabric 202); it runs asynchronously: follow with
        :meth:`wait_for_batch`. Arguments are those of :meth:`batch_body`."""
        body = self.batch_body(file, resources, **options)
        url = self.endpoint.batches_url()
        what = f"submit batch {Path(str(body['file'])).name}"
        data = self.client.http.post_refusable(
            url, body, what, subject="The batch",
            advice="it may be running anyway. List the batches before submitting again, so that "
                   "it does not run twice.")
        return Batch.from_json(data, url)

    # --- read ----------------------------------------------------------------------------

    def get_batch(self, batch_id: SessionId) -> Batch:
        url = self.endpoint.batch_url(batch_id)
        return Batch.from_json(self._request("GET", url, f"get batch {batch_id}"), url)

    def get_batch_state(self, batch_id: SessionId) -> BatchState:
        """Livy's light ``/state`` route; on Fabric the state of the whole batch object."""
        if not self.endpoint.supports_log_route:
            return self.get_batch(batch_id).state
        url = self.endpoint.batch_state_url(batch_id)
        data = self._request("GET", url, f"get the state of batch {batch_id}")
        if not isinstance(data, dict) or "state" not in data:
            raise MalformedResponse(f"{url} answered without a 'state' field.")
        return BatchState(data["state"])

    def list_batches(self, *, start: int = 0, size: int | None = None) -> BatchPage:
        """One page of batches (Livy ``from``/``size``, Fabric ``$skip``/``$top``)."""
        params = self.endpoint.page_params(start, size)
        url = self.endpoint.batches_url()
        data = self.client.http.call("GET", url, what="list batches", params=params)
        return BatchPage.from_json(data, url, start=start)

    def iter_batches(self, *, page_size: int = 100) -> Iterator[Batch]:
        """Every batch, page by page."""

        def page(start: int, size: int) -> tuple[Sequence[Batch], int | None]:
            listed = self.list_batches(start=start, size=size)
            return listed.batches, listed.total

        return iter_pages(page, page_size, what="batch list")

    def get_batch_log(self, batch_id: SessionId, *, start: int | None = None,
                      size: int = 100) -> SessionLog:
        """Log lines: Livy's ``/log`` route; on Fabric the batch object's ``log`` field.
        ``start=None`` means the last ``size`` lines."""
        if not self.endpoint.supports_log_route:
            return log_window(self.get_batch(batch_id).log, start, size)
        url = self.endpoint.batch_log_url(batch_id)
        data = self._request("GET", url, f"get the log of batch {batch_id}",
                             params=log_query(start, size))
        return SessionLog.from_json(data, url)

    # --- cancel --------------------------------------------------------------------------

    def cancel_batch(self, batch_id: SessionId, *, missing_ok: bool = False) -> None:
        """Stop the job (Livy ``DELETE`` / Fabric cancel). Safe to repeat."""
        try:
            self._request("DELETE", self.endpoint.batch_url(batch_id), f"cancel batch {batch_id}")
        except BatchNotFound:
            if not missing_ok:
                raise

    delete_batch = cancel_batch

    # --- wait ----------------------------------------------------------------------------

    def wait_for_batch(
        self,
        batch_id: SessionId,
        *,
        timeout: float | None = None,
        on_state_change: Callable[[Batch], None] | None = None,
        poll: PollPolicy | None = None,
        raise_on_failure: bool = False,
        not_found_grace: float = 15.0,
    ) -> Batch:
        """Poll until the batch ends and return it. ``on_state_change(batch)`` runs whenever the
        state or Fabric's phase changes (show ``batch.phase``). With ``raise_on_failure`` a batch
        that did not succeed raises :class:`BatchFailed` with its log tail. A 404 in the first
        ``not_found_grace`` seconds is taken as Fabric not having registered the batch yet.
        Raises LivyTimeout after ``timeout`` seconds (the batch keeps running)."""

        def ended(batch: Batch) -> bool:
            if batch.is_finished and raise_on_failure and not batch.succeeded:
                raise self.failure(batch)
            return batch.is_finished

        return poll_until(
            lambda: self.get_batch(batch_id),
            done=ended, intervals=(poll or self.poll).intervals(), timeout=timeout,
            change_key=lambda batch: (batch.state, batch.fabric_state, batch.result),
            on_change=on_state_change, not_found=BatchNotFound, not_found_grace=not_found_grace,
            timed_out=lambda batch: LivyTimeout(
                f"Batch {batch_id} was still {batch.phase} after {timeout:.0f} s. It keeps "
                "running; check it later or cancel it."))

    def failure(self, batch: Batch, lines: int = 20) -> BatchFailed:
        """A :class:`BatchFailed` for an ended batch, with the reason and the last log lines."""
        tail = list(batch.log)
        if self.endpoint.supports_log_route:
            try:
                tail = list(self.get_batch_log(batch.id, size=200).lines)
            except LivyError:
                pass
        tail = tail[-lines:]
        reason = batch.error_message
        how = {"killed": "was cancelled", "dead": "failed", "error": "failed"}.get(
            str(batch.state), f"ended as {batch.phase}")
        message = f"Batch {batch.id} {how}" + (f": {reason}" if reason else "") + "."
        hint = _error_line(tail)
        if hint and (not reason or hint not in reason):
            message += f" {hint}"
        return BatchFailed(message, batch_id=batch.id, state=batch.phase, log=tail)


def _error_line(lines: Sequence[str]) -> str | None:
    """The last line that looks like a Python or Java exception (what a person looks for)."""
    for line in reversed(lines):
        text = line.strip()
        head = text.split(":", 1)[0]
        if head and " " not in head and (head.endswith(("Error", "Exception")) or head == "KeyboardInterrupt"):
            return text
    return None

