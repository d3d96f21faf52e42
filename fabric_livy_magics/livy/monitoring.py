"""``MonitoringCalls``: Fabric's Spark monitoring APIs, and what an Apache Livy server offers instead.

Fabric (docs "Spark monitoring API overview" and the pages it links) answers, per lakehouse::

    {base}/v1/workspaces/{ws}/lakehouses/{lh}/livySessions                   runs (sessions and batches)
    .../livySessions/{livyId}                                                one run
    .../livySessions/{livyId}/applications/{appId}/jobs|stages|executors     Spark's own REST answers
    .../livySessions/{livyId}/applications/{appId}/logs?type=driver|executor  (``meta=true``: sizes)
    .../livySessions/{livyId}/applications/none/logs?type=livy
    .../livySessions/{livyId}/applications/{appId}/advices|resourceUsage

These need the ``Item.Read.All`` or ``Lakehouse.Read.All`` delegated scope: a 403 says so in one
line, a 404 names the run and application. Log contents page by byte ``offset``/``size``
(``isDownload=true&isPartial=true``). Apache Livy has none of this: its ``/log`` route is the
driver's output, and its lists hold only the sessions and batches it still keeps. Asking a
target for something it does not have raises ConfigurationError with one line saying so.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal, Mapping
from urllib.parse import quote

from fabric_livy_magics.errors import BatchNotFound, ConfigurationError, LivyHTTPError, SessionNotFound
from fabric_livy_magics.livy.endpoints import Endpoint, FabricEndpoint
from fabric_livy_magics.livy.http_core import HttpCore
from fabric_livy_magics.livy.models import Batch, BatchPage, Session, SessionId, SessionLog, SessionPage
from fabric_livy_magics.livy.models.monitoring import (
    Advice,
    ContainerLogs,
    JobProgress,
    LogFile,
    ResourceUsage,
    SparkExecutor,
    SparkJob,
    SparkRun,
    SparkRunPage,
    SparkStage,
    parse_list,
)
from fabric_livy_magics.livy.transport import Response, error_from_response, request_id_of

__all__ = ["LOG_SOURCES", "LogSource", "LogTail", "MonitoringCalls", "SCOPE_HINT", "monitoring_root"]

log = logging.getLogger(__name__)

LogSource = Literal["driver", "executor", "livy"]
LOG_SOURCES: tuple[LogSource, ...] = ("driver", "executor", "livy")
#: The delegated scopes the monitoring APIs accept for a lakehouse's runs (any one of them).
SCOPE_HINT = "Item.Read.All (or Lakehouse.Read.All)"
#: Bytes asked for first when reading the end of a log; doubled until enough lines came back.
_TAIL_CHUNK = 64 * 1024
_MAX_TAIL_BYTES = 8 * 1024 * 1024


def monitoring_root(endpoint: Endpoint) -> str | None:
    """``.../lakehouses/{lh}/livySessions`` of a Fabric endpoint (same host as its Livy API); None
    for Apache Livy, which has no monitoring API."""
    if not isinstance(endpoint, FabricEndpoint):
        return None
    return f"{endpoint.base_url}/v1/workspaces/{endpoint.workspace_id}/lakehouses/{endpoint.lakehouse_id}/livySessions"


@dataclass(frozen=True)
class LogTail:
    """The last lines of a log file, and the byte offset where new content will start."""

    lines: tuple[str, ...]
    end: int
    file: LogFile | None = None


def _q(value: object) -> str:
    return quote(str(value), safe="")


class MonitoringCalls:
    """Typed monitoring calls over the client's request machinery (``http_core.py``)."""

    def __init__(self, http: HttpCore, endpoint: Endpoint) -> None:
        self.http = http
        self.endpoint = endpoint
        self.root = monitoring_root(endpoint)

    @property
    def available(self) -> bool:
        """True where the Spark monitoring APIs exist (Fabric, or the local server in its shape)."""
        return self.root is not None

    def _root(self, what: str) -> str:
        if self.root is None:
            raise ConfigurationError(
                f"Apache Livy has no {what}: that comes from Fabric's Spark monitoring API. Open the "
                "session's Spark UI link (`%livy info`) instead.")
        return self.root

    # --- URLs ---------------------------------------------------------------------------------
    def run_url(self, livy_id: SessionId) -> str:
        return f"{self._root('run details')}/{_q(livy_id)}"

    def app_url(self, livy_id: SessionId, app_id: str | None, attempt: int | None = None) -> str:
        """``.../applications/{appId}[/{attemptId}]``; ``app_id=None`` is Fabric's ``none``
        (the Livy log belongs to no application)."""
        url = f"{self.run_url(livy_id)}/applications/{_q(app_id) if app_id else 'none'}"
        return url if attempt is None else f"{url}/{int(attempt)}"

    # --- sending ------------------------------------------------------------------------------
    def _send(self, url: str, what: str, params: Mapping[str, Any] | None = None) -> Response:
        """GET with the monitoring API's own explanations of 403 and 404 (one line each)."""
        response = self.http.send("GET", url, what=what, params=params)
        if response.status_code in (403, 404):
            raise self._explained(response, url, what)
        if response.status_code >= 400:
            raise error_from_response(response, what=what)
        return response

    @staticmethod
    def _explained(response: Response, url: str, what: str) -> LivyHTTPError:
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = None
        body = body if isinstance(body, dict) else {}
        code = body.get("errorCode") if isinstance(body.get("errorCode"), str) else None
        said = body.get("message") or body.get("msg")
        said = f": {str(said).strip().rstrip('.')}" if said else ""
        detail = f", {code}" if code else ""
        response.close()
        if status == 403:
            message = (f"Fabric refused to {what} (HTTP 403{detail}): the Spark monitoring APIs need the "
                       f"{SCOPE_HINT} delegated scope and read access to the lakehouse. Add the scope to "
                       "FABRIC_LIVY_SCOPES (or the app registration) and sign in again.")
        else:
            hint = "" if said else ": logs and metrics appear once the Spark application has started"
            message = f"Nothing found to {what} (HTTP 404{detail}){said or hint}. `%livy history` lists the runs."
        return LivyHTTPError(message, status_code=status, url=url.split("?")[0], error_code=code,
                             request_id=request_id_of(response, body))

    def _json(self, url: str, what: str, params: Mapping[str, Any] | None = None) -> Any:
        return self.http.parse_json(self._send(url, what, params), what)

    # --- runs ---------------------------------------------------------------------------------
    def list_runs(self, continuation_token: str | None = None) -> SparkRunPage:
        """One page of the lakehouse's runs, newest first as Fabric lists them."""
        url = self._root("run history")
        params = {"continuationToken": continuation_token} if continuation_token else None
        return SparkRunPage.from_json(self._json(url, "list the lakehouse's Livy sessions", params), url)

    def iter_runs(self) -> Iterator[SparkRun]:
        token: str | None = None
        while True:
            page = self.list_runs(token)
            yield from page.runs
            token = page.continuation_token
            if not token or not page.runs:
                return

    def get_run(self, livy_id: SessionId) -> SparkRun:
        """One run: Fabric's record, or an Apache Livy server's session (else batch) of that id."""
        if not self.available:
            return self._livy_run(self.endpoint.parse_id(livy_id, "session or batch"))
        url = self.run_url(livy_id)
        return SparkRun.from_json(self._json(url, f"get Livy session {livy_id}"), url)

    def _livy_run(self, ref: SessionId) -> SparkRun:
        url = self.endpoint.session_url(ref)
        try:
            return SparkRun.from_livy(Session.from_json(
                self.http.call("GET", url, what=f"get session {ref}", not_found=SessionNotFound), url))
        except SessionNotFound:
            url = self.endpoint.batch_url(ref)
            data = self.http.call("GET", url, what=f"get session or batch {ref}", not_found=BatchNotFound)
            return SparkRun.from_livy(Batch.from_json(data, url))

    def history(self, *, limit: int | None = None, batches: bool = False) -> list[SparkRun]:
        """Past and current runs: Fabric's monitoring list, or what an Apache Livy server still
        holds (its sessions, then its batches). ``batches``: batches only."""
        runs: list[SparkRun] = []
        source = self.iter_runs() if self.available else self._livy_runs(batches)
        for run in source:
            if batches and not run.is_batch:
                continue
            runs.append(run)
            if limit is not None and len(runs) >= limit:
                break
        return runs

    def _livy_runs(self, batches: bool) -> Iterator[SparkRun]:
        if not batches:
            url = self.endpoint.sessions_url()
            page = SessionPage.from_json(self.http.call("GET", url, what="list sessions"), url)
            yield from (SparkRun.from_livy(item) for item in reversed(page.sessions))
        url = self.endpoint.batches_url()
        listing = BatchPage.from_json(self.http.call("GET", url, what="list batches"), url)
        yield from (SparkRun.from_livy(item) for item in reversed(listing.batches))

    # --- Spark application --------------------------------------------------------------------
    def list_jobs(self, livy_id: SessionId, app_id: str, attempt: int | None = None) -> tuple[SparkJob, ...]:
        url = f"{self.app_url(livy_id, app_id, attempt)}/jobs"
        data = parse_list(self._json(url, f"list the Spark jobs of {app_id}"), "Spark jobs", url)
        return tuple(SparkJob.from_json(item, url) for item in data)

    def list_stages(self, livy_id: SessionId, app_id: str, attempt: int | None = None) -> tuple[SparkStage, ...]:
        url = f"{self.app_url(livy_id, app_id, attempt)}/stages"
        data = parse_list(self._json(url, f"list the Spark stages of {app_id}"), "Spark stages", url)
        return tuple(SparkStage.from_json(item, url) for item in data)

    def list_executors(self, livy_id: SessionId, app_id: str,
                       attempt: int | None = None) -> tuple[SparkExecutor, ...]:
        url = f"{self.app_url(livy_id, app_id, attempt)}/executors"
        data = parse_list(self._json(url, f"list the Spark executors of {app_id}"), "Spark executors", url)
        return tuple(SparkExecutor.from_json(item, url) for item in data)

    def statement_progress(self, livy_id: SessionId, app_id: str, statement_id: int) -> JobProgress:
        """Jobs, stages and tasks of one statement's Spark jobs: those of its job group (Livy
        names a statement's group after its id; the local server ``livy-{repl}-{id}``)."""
        jobs = [job for job in self.list_jobs(livy_id, app_id) if _in_statement(job.job_group, statement_id)]
        return JobProgress.of(jobs)

    def list_advice(self, livy_id: SessionId, app_id: str, attempt: int | None = None) -> tuple[Advice, ...]:
        url = f"{self.app_url(livy_id, app_id, attempt)}/advices"
        data = parse_list(self._json(url, f"get the Spark advice for {app_id}"), "advice", url)
        return tuple(Advice.from_json(item, url) for item in data)

    def get_resource_usage(self, livy_id: SessionId, app_id: str, attempt: int | None = None) -> ResourceUsage:
        url = f"{self.app_url(livy_id, app_id, attempt)}/resourceUsage"
        return ResourceUsage.from_json(self._json(url, f"get the resource usage of {app_id}"), url)

    # --- logs ---------------------------------------------------------------------------------
    def _log_params(self, source: LogSource, file_name: str | None, container_id: str | None) -> dict[str, Any]:
        if source not in LOG_SOURCES:
            raise ConfigurationError(f"Unknown log source {source!r}: use one of {', '.join(LOG_SOURCES)}.")
        params: dict[str, Any] = {"type": source}
        if source != "livy" and file_name:
            params["fileName"] = file_name
        if container_id:
            params["containerId"] = container_id
        return params

    def _log_url(self, livy_id: SessionId, app_id: str | None, source: LogSource) -> str:
        """The Livy log is under ``applications/none``; so are the others of a run whose
        application id is not known (the server answers 404 if it needs one)."""
        return f"{self.app_url(livy_id, app_id if source != 'livy' else None)}/logs"

    def log_containers(self, livy_id: SessionId, app_id: str | None, source: LogSource, *,
                       file_name: str | None = None) -> tuple[ContainerLogs, ...]:
        """Where the ``source`` logs are and how long each file is (``meta=true``)."""
        url = self._log_url(livy_id, app_id, source)
        params = {**self._log_params(source, file_name, None), "meta": "true"}
        data = self._json(url, f"get the {source} log's size for {livy_id}", params)
        if source == "livy":  # one FileMeta, no container
            return (ContainerLogs(None, None, (LogFile.from_json(data, url),)),)
        items = data if isinstance(data, list) else [data]
        return tuple(ContainerLogs.from_json(item, url) for item in items)

    def read_log(self, livy_id: SessionId, app_id: str | None, source: LogSource, *, file_name: str | None = None,
                 offset: int = 0, size: int | None = None, container_id: str | None = None) -> bytes:
        """Bytes ``offset`` .. ``offset+size`` of a log file (the whole file without ``size``)."""
        url = self._log_url(livy_id, app_id, source)
        params = {**self._log_params(source, file_name, container_id), "isDownload": "true"}
        if size is not None or offset:
            params.update(isPartial="true", offset=int(offset), size=int(size if size is not None else 1 << 20))
        response = self._send(url, f"read the {source} log of {livy_id}", params)
        return response.content

    def tail_log(self, livy_id: SessionId, app_id: str | None, source: LogSource, *, lines: int,
                 file_name: str | None = None, container_id: str | None = None) -> LogTail:
        """The last ``lines`` lines: the file's size first, then its end, reading further back
        until enough lines came (never more than 8 MiB)."""
        meta = self._file_meta(livy_id, app_id, source, file_name, container_id)
        length = meta.length if meta is not None else None
        if length is None:
            text = self.read_log(livy_id, app_id, source, file_name=file_name, container_id=container_id)
            return LogTail(tuple(_lines(text)[-lines:]), len(text), meta)
        chunk = _TAIL_CHUNK
        while True:
            start = max(0, length - chunk)
            data = self.read_log(livy_id, app_id, source, file_name=file_name, offset=start,
                                 size=length - start, container_id=container_id)
            found = _lines(data)
            if start > 0 and found:
                found = found[1:]  # the first line was cut by the offset
            if len(found) >= lines or start == 0 or chunk >= _MAX_TAIL_BYTES:
                return LogTail(tuple(found[-lines:]), start + len(data), meta)
            chunk *= 2

    def _file_meta(self, livy_id: SessionId, app_id: str | None, source: LogSource, file_name: str | None,
                   container_id: str | None) -> LogFile | None:
        for container in self.log_containers(livy_id, app_id, source, file_name=file_name):
            if container_id and container.container_id != container_id:
                continue
            for meta in container.files:
                if source == "livy" or not file_name or meta.file_name == file_name:
                    return meta
        return None

    def follow_log(self, livy_id: SessionId, app_id: str | None, source: LogSource, *, start: int,
                   file_name: str | None = None, container_id: str | None = None, interval: float = 2.0,
                   keep_going: Callable[[], bool] = lambda: True) -> Iterator[list[str]]:
        """New complete lines as the log grows (from byte ``start``), a list per check, until
        ``keep_going()`` is false (the caller also stops on Ctrl-C)."""
        offset, partial = start, b""
        while keep_going():
            meta = self._file_meta(livy_id, app_id, source, file_name, container_id)
            length = meta.length if meta is not None and meta.length is not None else offset
            if length > offset:
                data = self.read_log(livy_id, app_id, source, file_name=file_name, offset=offset,
                                     size=length - offset, container_id=container_id)
                offset += len(data)
                partial += data
                complete, _, partial = partial.rpartition(b"\n")
                if complete:
                    yield _lines(complete + b"\n")
            elif length < offset:  # rolled over or truncated: start again at its beginning
                offset, partial = 0, b""
            time.sleep(interval)

    def livy_log(self, session_id: SessionId, *, lines: int, batch: bool = False) -> SessionLog:
        """Apache Livy's ``/log`` route of a session or batch: the driver's output, last lines."""
        url = self.endpoint.batch_log_url(session_id) if batch else self.endpoint.session_log_url(session_id)
        data = self.http.call("GET", url, what=f"get the log of {'batch' if batch else 'session'} {session_id}",
                              params={"size": lines})
        return SessionLog.from_json(data, url)


def _in_statement(job_group: str | None, statement_id: int) -> bool:
    if not job_group:
        return False
    return job_group == str(statement_id) or job_group.endswith(f"-{statement_id}")


def _lines(data: bytes) -> list[str]:
    return data.decode("utf-8", "replace").splitlines()
