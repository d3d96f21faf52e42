"""Fixtures for the server tests: shared, already-started sessions in both URL shapes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from server_api import LAKEHOUSE, WORKSPACE, Api

from fabric_livy_magics.server.launcher import RunningServer


@pytest.fixture(scope="session")
def livy(livy_server: RunningServer) -> Api:
    return Api(livy_server.url)


@pytest.fixture(scope="session")
def fabric(livy_server: RunningServer) -> Api:
    return Api(livy_server.fabric_url(WORKSPACE, LAKEHOUSE))


@pytest.fixture(scope="session")
def pyspark_session(livy: Api) -> Iterator[int]:
    """A Livy-shaped pyspark session shared by the statement tests (idle when handed out)."""
    answer = livy.post("/sessions", json={"kind": "pyspark", "name": "shared-tests"})
    assert answer.status_code == 201, answer.text
    session_id = answer.json()["id"]
    livy.wait_session(session_id, {"idle"})
    yield session_id
    livy.delete(f"/sessions/{session_id}")
