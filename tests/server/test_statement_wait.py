"""``GET .../statements/{id}?wait=MS``: the local server answers when the statement changes, so a
client sees the end as it happens with one request; it says so in a header; bad values are 400."""

from __future__ import annotations

import time

import pytest
from server_api import Api

WAIT_HEADER = "X-Livy-Statement-Wait-Max-Ms"


@pytest.mark.parametrize("shape", ["livy", "fabric"])
def test_a_waiting_get_answers_when_the_statement_ends(shape: str, livy: Api, fabric: Api, pyspark_session: int) -> None:
    api = livy if shape == "livy" else fabric
    session = pyspark_session if shape == "livy" else _guid_of(livy, fabric, pyspark_session)
    created = api.post(f"/sessions/{session}/statements", json={"code": "import time\ntime.sleep(0.6)", "kind": "pyspark"})
    assert created.headers[WAIT_HEADER] == "10000"
    path = f"/sessions/{session}/statements/{created.json()['id']}"
    states = []
    began = time.monotonic()
    while not states or states[-1] not in ("available", "error"):
        answer = api.get(path, params={"wait": 5000})
        assert answer.status_code == 200 and answer.headers[WAIT_HEADER] == "10000"
        states.append(answer.json()["state"])
    elapsed = time.monotonic() - began
    assert states[-1] == "available"
    assert len(states) <= 4, states  # one answer per change (waiting -> running -> available), not per poll
    assert 0.5 < elapsed < 3.0  # it answered at the end, neither at once nor after the whole wait


def test_a_finished_statement_answers_at_once_and_a_wait_is_bounded(livy: Api, pyspark_session: int) -> None:
    done = livy.run(pyspark_session, "1 + 1")
    path = f"/sessions/{pyspark_session}/statements/{done['id']}"
    began = time.monotonic()
    assert livy.get(path, params={"wait": 10000}).json()["state"] == "available"
    assert time.monotonic() - began < 1.0
    for bad in ("10001", "-5", "soon", "1e3"):
        answer = livy.get(path, params={"wait": bad})
        assert answer.status_code == 400 and "wait" in answer.json()["msg"], (bad, answer.text)


def _guid_of(livy: Api, fabric: Api, livy_id: int) -> str:
    """The Fabric-shaped (GUID) id of the Livy-shaped session ``livy_id``."""
    name = livy.get(f"/sessions/{livy_id}").json()["name"]
    listed = fabric.get("/sessions").json()
    return next(s["id"] for s in listed.get("items", listed.get("sessions", [])) if s.get("name") == name)
