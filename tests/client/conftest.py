"""Fixtures for client tests: clients for both URL shapes over the real local server, one shared
Spark session (addressed in both shapes), and a fault-injecting proxy in front of the server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from fabric_livy_magics.livy.client import LivyClient
from fabric_livy_magics.livy.endpoints import FabricEndpoint, LivyEndpoint
from fabric_livy_magics.livy.models import Session

from faultproxy import FaultProxy

from client_ids import LH, WS


@pytest.fixture(scope="session")
def livy_client(livy_server) -> Iterator[LivyClient]:
    with LivyClient(LivyEndpoint(livy_server.url), timeout=(5, 60)) as client:
        yield client


@pytest.fixture(scope="session")
def fabric_client(livy_server) -> Iterator[LivyClient]:
    with LivyClient(FabricEndpoint(WS, LH, base_url=livy_server.url), timeout=(5, 60)) as client:
        yield client


@dataclass
class SharedSession:
    """One pyspark session, created through the Fabric shape, known by both of its ids."""

    guid: str
    livy_id: int
    phases: list[str] = field(default_factory=list)
    created: Session | None = None


@pytest.fixture(scope="session")
def shared_session(fabric_client: LivyClient, livy_client: LivyClient) -> Iterator[SharedSession]:
    name = f"client-tests-{uuid.uuid4().hex[:8]}"
    phases: list[str] = []
    created = fabric_client.create_session(name=name, conf={"spark.ui.enabled": "false"})
    ready = fabric_client.wait_for_session(created.id, timeout=180,
                                           on_state_change=lambda s: phases.append(s.phase))
    livy_id = next(s.id for s in livy_client.iter_sessions() if s.name == name)
    fabric_client.run_statement(ready, "_runs = []", kind="pyspark")
    yield SharedSession(guid=str(ready.id), livy_id=int(livy_id), phases=phases, created=created)
    fabric_client.delete_session(ready.id, missing_ok=True)


@pytest.fixture(scope="module")
def proxy(livy_server) -> Iterator[FaultProxy]:
    server = FaultProxy(livy_server.url).start()
    yield server
    server.stop()


@pytest.fixture()
def faults(proxy: FaultProxy) -> Iterator[FaultProxy]:
    """The proxy with no faults queued and an empty record; fails the test if a fault never fired."""
    proxy.clear()
    yield proxy
    left = proxy.pending()
    proxy.clear()
    assert not left, f"faults that never fired: {left}"
