"""Fabric workspace and lakehouse ids the client tests use (a module of its own: test folders'
conftest modules share one name, so tests must not import from them)."""

WS = "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"
LH = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
