"""The client waits on the server where it offers ``?wait=`` (the local server) and polls where it
does not (Apache Livy, Fabric), and falls back to polling when a server offers it and then
answers at once anyway."""

from __future__ import annotations

import time
from typing import Any

from werkzeug.wrappers import Request, Response

from fabric_livy_magics.livy.client import LivyClient
from fabric_livy_magics.livy.endpoints import LivyEndpoint

WAIT_HEADER = "X-Livy-Statement-Wait-Max-Ms"


def _counting(client: LivyClient) -> list[str]:
    sent: list[str] = []
    send = client.http.send

    def counted(method: str, url: str, **kwargs: Any) -> Any:
        sent.append(f"{method} {url.rsplit('/', 2)[-2:]} {kwargs.get('params') or ''}")
        return send(method, url, **kwargs)

    client.http.send = counted  # type: ignore[method-assign]
    return sent


def test_the_local_server_is_waited_on_not_polled(livy_server: Any, shared_session: Any) -> None:
    with LivyClient(livy_server.url) as client:
        sent = _counting(client)
        done = client.run_statement(shared_session.livy_id, "import time\ntime.sleep(0.5)")
        assert done.output.ok
        assert client.statement_wait == 1.0
        assert len(sent) <= 5, sent  # POST, one look at once, then one GET per change
        assert any("'wait': 1000" in line for line in sent), sent

        client.http.use_statement_wait, client.http.statement_wait_ms = False, None
        del sent[:]
        client.run_statement(shared_session.livy_id, "import time\ntime.sleep(0.5)")
        assert len(sent) > 10 and not any("wait" in line for line in sent), sent


def test_a_server_that_offers_to_wait_but_does_not_is_polled(httpserver: Any) -> None:
    """A proxy could strip the wait: answering at once with nothing new must not become a busy loop."""
    ends = time.monotonic() + 0.8
    headers = {WAIT_HEADER: "10000"}

    def statement(request: Request) -> Response:
        state = "available" if time.monotonic() > ends else "running"
        output = {"status": "ok", "execution_count": 0, "data": {"text/plain": "1"}} if state == "available" else None
        return Response(f'{{"id": 0, "code": "1", "state": "{state}", "output": {_json(output)}}}',
                        content_type="application/json", headers=headers)

    httpserver.expect_request("/sessions/1/statements", method="POST").respond_with_json(
        {"id": 0, "code": "1", "state": "waiting", "output": None}, status=201, headers=headers)
    httpserver.expect_request("/sessions/1/statements/0").respond_with_handler(statement)
    with LivyClient(LivyEndpoint(httpserver.url_for("/"))) as client:
        done = client.run_statement(1, "1")
    assert done.output.ok
    gets = [entry for entry in httpserver.log if entry[0].method == "GET"]
    assert 5 < len(gets) < 60, len(gets)  # the polling schedule (25 ms steps), not hundreds of requests


def _json(value: Any) -> str:
    import json

    return json.dumps(value)
