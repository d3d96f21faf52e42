"""HTTP plumbing under ``LivyClient``: one pooled ``requests.Session`` per endpoint, retries, auth.

Retries are split by what is safe to repeat:

* GET and DELETE (idempotent) are retried by urllib3 on 429/430/502/503/504, honouring
  ``Retry-After`` (430 is Fabric's non-standard "capacity busy" code, so it is added to the codes
  urllib3 reads ``Retry-After`` for), and on connection errors and read errors, with exponential
  backoff and jitter.
* POST is retried by urllib3 only when the connection could not be opened (nothing was sent).
  Everything else about POSTs is decided in ``http_core.py`` and ``statement_submit.py``, which
  know whether a repeat is safe.

This is also the one boundary where requests/urllib3 exceptions become ours.
"""

from __future__ import annotations

import email.utils
import json
import logging
import re
import time
from typing import Any, Callable, TypeAlias, Union

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, DecodeError, NewConnectionError, ReadTimeoutError
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.util.retry import Retry

from fabric_livy_magics.auth.base import AccessToken, TokenProvider
from fabric_livy_magics.livy.endpoints import is_loopback_url
from fabric_livy_magics.errors import (
    AuthError,
    ConfigurationError,
    LivyConnectionError,
    LivyError,
    LivyHTTPError,
    Throttled,
)

__all__ = [
    "RETRY_STATUSES",
    "Response",
    "THROTTLE_STATUSES",
    "TokenSource",
    "BearerAuth",
    "check_token_url",
    "LivyRetry",
    "build_http_session",
    "connection_error",
    "nothing_was_sent",
    "scrub_tokens",
    "send",
    "retry_after_seconds",
    "error_from_response",
    "request_id_of",
]

log = logging.getLogger(__name__)

#: 430 is Fabric's "TooManyRequestsForCapacity": not standard, so urllib3 must be told.
RETRY_STATUSES = frozenset({429, 430, 502, 503, 504})
THROTTLE_STATUSES = frozenset({429, 430})

#: An answer as ``send`` returns it. Modules above this one name the type through here, so that
#: this module stays the only one that imports requests.
Response: TypeAlias = requests.Response

#: A provider object, or a plain callable returning the bearer token text.
TokenSource = Union[TokenProvider, Callable[[], str]]


class LivyRetry(Retry):
    """urllib3 ``Retry`` that also honours ``Retry-After`` on 430 and caps how long it waits."""

    RETRY_AFTER_STATUS_CODES = frozenset({413, 429, 430, 503})

    def __init__(self, *args: Any, max_retry_after: float = 120.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_retry_after = max_retry_after

    def new(self, **kw: Any) -> "LivyRetry":
        new = super().new(**kw)
        new.max_retry_after = self.max_retry_after
        return new

    def get_retry_after(self, response: Any) -> float | None:
        seconds = super().get_retry_after(response)
        if seconds is not None:
            seconds = min(seconds, self.max_retry_after)
            log.info("Server asked to retry after %.1f s (status %s)", seconds, response.status)
        return seconds


def build_http_session(*, pool_size: int = 10, read_retries: int = 2, status_retries: int = 5,
                       connect_retries: int = 4, backoff_factor: float = 0.25,
                       backoff_max: float = 10.0, backoff_jitter: float = 0.25,
                       max_retry_after: float = 120.0) -> requests.Session:
    """A keep-alive session with the retry policy described in the module docstring."""
    retry = LivyRetry(
        total=max(read_retries, status_retries, connect_retries) + 1,
        connect=connect_retries,
        read=read_retries,
        status=status_retries,
        other=0,
        redirect=2,
        allowed_methods=frozenset({"GET", "HEAD", "DELETE", "OPTIONS"}),
        status_forcelist=RETRY_STATUSES,
        backoff_factor=backoff_factor,
        backoff_max=backoff_max,
        backoff_jitter=backoff_jitter,
        respect_retry_after_header=True,
        raise_on_status=False,  # the last response comes back and is mapped to our errors
        max_retry_after=max_retry_after,
    )
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=2, pool_maxsize=pool_size, max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


#: After the read timeout has passed, an answer still arriving more slowly than this (bytes per
#: second, on average since its headers) is abandoned: the read timeout bounds each wait for a
#: byte, so without this a server sending a byte a second would hold a cell forever.
MIN_ANSWER_RATE = 16 * 1024
_READ_SIZE = 64 * 1024


def send(http: requests.Session, method: str, url: str, *, what: str, read_timeout: float,
         **kwargs: Any) -> requests.Response:
    """One request on ``http``, its answer read whole; requests' and urllib3's errors become ours
    here and nowhere else.

    A failure is a ``LivyConnectionError`` whose ``nothing_sent`` says whether the request surely
    never left, or a ``ConfigurationError`` for a URL that cannot work."""
    try:
        response = http.request(method, url, stream=True, **kwargs)
    except requests.RequestException as exc:
        raise connection_error(exc, url, what, read_timeout) from exc
    try:
        body = _read_answer(response, url, what, read_timeout)
    except BaseException:
        response.close()
        raise
    response._content = body  # what requests itself does when it reads a streamed body
    response._content_consumed = True
    return response


def _read_answer(response: requests.Response, url: str, what: str, read_timeout: float) -> bytes:
    """The body, read as it arrives, with a bound on the whole: see ``MIN_ANSWER_RATE``."""
    began, parts, size = time.monotonic(), [], 0
    try:
        while chunk := response.raw.read1(_READ_SIZE, decode_content=True):
            parts.append(chunk)
            size += len(chunk)
            elapsed = time.monotonic() - began
            if elapsed > read_timeout and size < MIN_ANSWER_RATE * elapsed:
                raise LivyConnectionError(
                    f"{url.split('?')[0]} sent its answer too slowly ({size:,} bytes in {elapsed:.0f} s) "
                    f"while trying to {what}. The server or the network is struggling; try again.")
    except ReadTimeoutError as exc:
        raise connection_error(requests.exceptions.ReadTimeout(exc), url, what, read_timeout) from exc
    except DecodeError as exc:
        raise connection_error(requests.exceptions.ContentDecodingError(exc), url, what, read_timeout) from exc
    except (Urllib3Error, OSError) as exc:
        raise connection_error(requests.exceptions.ChunkedEncodingError(exc), url, what, read_timeout) from exc
    return b"".join(parts)


def connection_error(exc: requests.RequestException, url: str, what: str, read_timeout: float) -> LivyError:
    """The one-line error for a request that got no answer."""
    where = url.split("?")[0]
    sent = not nothing_was_sent(exc)
    if isinstance(exc, requests.exceptions.SSLError):
        return LivyConnectionError(
            f"TLS failed talking to {where} while trying to {what}. Check the URL and, behind a "
            "corporate proxy, REQUESTS_CA_BUNDLE.", nothing_sent=not sent)
    if isinstance(exc, requests.exceptions.Timeout) and sent:
        return LivyConnectionError(
            f"{where} did not answer within {read_timeout:.0f} s while trying to {what}. "
            "The server may be overloaded; try again, or raise the client timeout.")
    if isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                        requests.exceptions.InvalidSchema, requests.exceptions.InvalidHeader)):
        return ConfigurationError(f"Invalid URL {where}: {exc}")
    return LivyConnectionError(
        f"Could not reach {where} while trying to {what} ({type(exc).__name__}). Check that the "
        "server is running and the URL is right.", nothing_sent=not sent)


def nothing_was_sent(exc: BaseException) -> bool:
    """True when a request failed before any byte reached the server (refused, connect timeout).

    Only then is repeating a non-idempotent POST certain not to run anything twice.
    """
    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, (NewConnectionError, ConnectTimeoutError,
                                requests.exceptions.ConnectTimeout)):
            return True
        stack.append(getattr(current, "reason", None))
        stack.append(current.__cause__)
        stack.append(current.__context__)
        stack.extend(arg for arg in getattr(current, "args", ()) if isinstance(arg, BaseException))
    return False


def retry_after_seconds(response: requests.Response) -> float | None:
    """``Retry-After`` as seconds (number or HTTP date), or None."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    value = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


# --- auth ------------------------------------------------------------------------------------

class _CallableProvider:
    """Adapts ``lambda: "token"`` to the TokenProvider protocol."""

    def __init__(self, func: Callable[[], str]) -> None:
        self._func = func

    def get_token(self, *, force_refresh: bool = False) -> AccessToken:
        token = self._func()
        if isinstance(token, AccessToken):
            return token
        if not isinstance(token, str) or not token:
            raise AuthError("The token callable returned no token. Check the sign-in settings.")
        return AccessToken(token=token, expires_on=time.time() + 300)

    def __repr__(self) -> str:
        return "CallableTokenProvider()"


def check_token_url(url: str) -> None:
    """Refuse a URL a bearer token must not go to: only HTTPS, or plain HTTP to loopback."""
    if not (url.lower().startswith("https://") or is_loopback_url(url)):
        raise ConfigurationError(
            f"Refusing to send a bearer token over plain HTTP to {url.split('?')[0]}. "
            "Use an https:// URL (plain http is only allowed to localhost)."
        )


class BearerAuth(requests.auth.AuthBase):
    """Adds ``Authorization: Bearer …`` from the provider; refuses to send it over plain HTTP.

    A token goes only over HTTPS, or over plain HTTP to loopback (local tests and demos). The
    token never appears in this object's repr.
    """

    def __init__(self, source: TokenSource) -> None:
        if isinstance(source, TokenProvider):
            self.provider: TokenProvider = source
        elif callable(source):
            self.provider = _CallableProvider(source)
        else:
            raise ConfigurationError(
                "token_provider must have get_token() or be a callable returning a token string."
            )
        self._force_next = False

    def force_refresh(self) -> None:
        """Ask the provider for a fresh token on the next request (after a 401)."""
        self._force_next = True

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        check_token_url(request.url or "")
        force, self._force_next = self._force_next, False
        try:
            token = self.provider.get_token(force_refresh=force)
        except AuthError:
            raise
        except Exception as exc:  # provider bugs or MSAL errors: one clear line, no secrets
            raise AuthError(f"Could not obtain an access token: {type(exc).__name__}. "
                            "Sign in again.") from exc
        request.headers["Authorization"] = f"Bearer {token.token}"
        return request

    def __repr__(self) -> str:
        return f"BearerAuth(provider={type(self.provider).__name__}, token=<redacted>)"


# --- errors ----------------------------------------------------------------------------------

_REQUEST_ID_HEADERS = ("x-ms-request-id", "requestid", "request-id", "x-request-id",
                       "x-ms-correlation-id")


def request_id_of(response: requests.Response, body: Any = None) -> str | None:
    """Fabric's ``requestId`` from the body, else from a response header."""
    if isinstance(body, dict):
        for key in ("requestId", "request_id", "RequestId"):
            if body.get(key):
                return str(body[key])
    for name in _REQUEST_ID_HEADERS:
        if response.headers.get(name):
            return response.headers[name]
    return None


#: What a bearer token looks like in a server's text: ``Bearer <token>`` or a bare JWT.
_TOKEN_TEXT = re.compile(r"(?i:bearer)\s+[A-Za-z0-9._~+/=-]{8,}|eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")


def scrub_tokens(text: str) -> str:
    """``text`` with anything that looks like a bearer token replaced: a server that echoes the
    Authorization header in its error must not put the token on the screen."""
    return _TOKEN_TEXT.sub("Bearer ****", text)


def _error_text(response: requests.Response) -> tuple[str, str | None, Any]:
    """Message, errorCode and parsed body of an error answer, whatever its shape (tokens scrubbed)."""
    message, code, body = _raw_error_text(response)
    return scrub_tokens(message), code, body


def _raw_error_text(response: requests.Response) -> tuple[str, str | None, Any]:
    text = response.text or ""
    try:
        body: Any = json.loads(text) if text.strip() else None
    except (ValueError, RecursionError):  # not JSON, or nested too deeply to be an error body
        body = None
    if isinstance(body, dict):
        error = body.get("error") if isinstance(body.get("error"), dict) else body
        message = error.get("message") or error.get("msg") or error.get("Message")
        code = error.get("errorCode") or error.get("code")
        return (str(message) if message else json.dumps(body)[:300]), (
            str(code) if code else None), body
    if isinstance(body, str):  # Livy: a bare JSON string
        return body, None, body
    if text.strip():
        # HTML error page (proxies, Livy's CSRF filter): keep the title or the first words.
        title = re.search(r"<title>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
        plain = title.group(1) if title else re.sub(r"<[^>]+>", " ", text)
        return " ".join(plain.split())[:300], None, None
    return response.reason or "no details", None, None


def _explain_fabric_denial(response: requests.Response, status: int, code: str | None) -> str:
    """Fabric's 401/403 in plain words: the missing scope, audience or workspace role, read from
    the claims of the token we sent (decoded locally; the token itself never enters the text)."""
    from fabric_livy_magics.auth.errors import explain_fabric_denial

    sent = response.request.headers.get("Authorization", "") if response.request is not None else ""
    token = sent[len("Bearer "):] if sent.startswith("Bearer ") else None
    return explain_fabric_denial(status, error_code=code, token=token,
                                 www_authenticate=response.headers.get("WWW-Authenticate"))


def error_from_response(response: requests.Response, *, what: str = "request",
                        not_found: type[LivyHTTPError] | None = None) -> Exception:
    """Map an error answer to the exception a person can act on."""
    status = response.status_code
    url = response.url.split("?")[0]
    message, code, body = _error_text(response)
    message = message.rstrip().rstrip(".")  # our sentences end it: no "not found.."
    request_id = request_id_of(response, body)
    common = dict(status_code=status, url=url, error_code=code, request_id=request_id)
    rid = f" (requestId {request_id})" if request_id else ""
    if status == 430 or code == "TooManyRequestsForCapacity":
        return Throttled(
            f"The Fabric capacity is busy (HTTP 430 TooManyRequestsForCapacity) while trying to "
            f"{what}: its Spark compute or API limit is reached. Wait for other Spark jobs or "
            "sessions on the capacity to finish (or stop idle ones), then try again, or ask the "
            "capacity admin to scale it up.",
            retry_after=retry_after_seconds(response), **common)
    if status == 429:
        after = retry_after_seconds(response)
        hint = f" The server asked to wait {after:.0f} s." if after is not None else ""
        return Throttled(f"Too many requests to {url} while trying to {what} (HTTP 429).{hint} "
                         "Wait a minute and run it again.", retry_after=after, **common)
    if status in (401, 403) and "/livyapi/" in url.lower():
        return AuthError(f"{_explain_fabric_denial(response, status, code)}{rid} "
                         f"(while trying to {what})")
    if status in (401, 403):
        return AuthError(
            f"The server refused the credentials (HTTP {status}) while trying to {what}: "
            f"{message}.{rid} Sign in again; for Fabric you must be a Contributor of the workspace "
            "and the token needs the Fabric API scopes.")
    if status == 404 and not_found is not None:
        return not_found(f"Not found while trying to {what}: {message}.", **common)
    return LivyHTTPError(f"HTTP {status} from {url} while trying to {what}: {message}", **common)

