"""Fixtures for the library's own tests: clients of both shapes over the shared local server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fabric_livy_magics.livy.client import LivyClient
from fabric_livy_magics.livy.endpoints import FabricEndpoint, LivyEndpoint

WS = "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f"
LH = "6f5e4d3c-2b1a-4f0e-9d8c-7b6a5f4e3d2c"


@pytest.fixture(scope="module")
def livy_client(livy_server) -> Iterator[LivyClient]:
    with LivyClient(LivyEndpoint(livy_server.url), timeout=(5, 60)) as client:
        yield client


@pytest.fixture(scope="module")
def fabric_client(livy_server) -> Iterator[LivyClient]:
    with LivyClient(FabricEndpoint(WS, LH, base_url=livy_server.url), timeout=(5, 60)) as client:
        yield client
