"""The magics against the local server's Fabric shape: connection string, session GUIDs, logs from
the session object, keep-alive, shutdown cleanup, --keep and attach."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from IPython.utils.capture import capture_output
from magics_helpers import LAKEHOUSE, WORKSPACE, reload_extension

from fabric_livy_magics.notebook import magics as magics_module
from fabric_livy_magics.livy.client import LivyClient
from fabric_livy_magics.livy.endpoints import FabricEndpoint
from fabric_livy_magics.errors import SessionDead, SessionNotFound

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def fabric_url(livy_server: Any) -> str:
    return livy_server.fabric_url(WORKSPACE, LAKEHOUSE) + "/sessions"


@pytest.fixture(scope="module")
def fabric_client(fabric_url: str) -> Any:
    with LivyClient(FabricEndpoint.from_connection_string(fabric_url)) as client:
        yield client


@pytest.fixture(scope="module")
def fabric_state(shell: Any, fabric_url: str) -> Any:
    state = reload_extension(shell)
    shell.run_line_magic("livy", f"connect --connection-string {fabric_url}")
    yield state
    reload_extension(shell)


def _ids(client: Any) -> set[Any]:
    return {s.id for s in client.iter_sessions() if not s.has_failed}


def test_connection_string_cell_info_and_logs(shell: Any, fabric_state: Any, fabric_client: Any) -> None:
    assert isinstance(fabric_state.target.endpoint, FabricEndpoint)
    before = _ids(fabric_client)
    assert fabric_state.session is None
    with capture_output() as cap:
        shell.run_cell_magic("livy", "", "print(spark.range(5).count())")
    assert cap.stdout == "5\n"
    session_id = fabric_state.session.session_id
    assert _ids(fabric_client) - before == {session_id}
    assert isinstance(session_id, str) and len(session_id) == 36  # a GUID
    with capture_output() as cap:
        shell.run_line_magic("livy", "info")
    assert session_id in cap.outputs[0].data["text/plain"]
    with capture_output() as cap:
        shell.run_line_magic("livy", "logs -n 3")
    assert 0 < len(cap.stdout.strip().splitlines()) <= 3
    shell.run_cell_magic("livy_sql", "-o fab_sql -q", "select 1 as one, 'x' as s")
    assert shell.user_ns["fab_sql"].to_dict("list") == {"one": [1], "s": ["x"]}


def test_keep_alive_resets_the_timeout(shell: Any, fabric_state: Any) -> None:
    assert fabric_state.session.keep_alive_once() is True
    assert any(t.name == "fabric-livy-keepalive" for t in threading.enumerate())


def test_atexit_hook_deletes_the_session(shell: Any, fabric_state: Any, fabric_client: Any) -> None:
    session_id = fabric_state.session.session_id
    _magics, at_exit = magics_module._registered[id(shell)]
    at_exit()  # exactly what atexit runs at interpreter exit
    with pytest.raises(SessionNotFound):
        fabric_client.get_session(session_id)
    assert not any(t.name == "fabric-livy-keepalive" for t in threading.enumerate())


def test_keep_survives_shutdown_and_attach_reuses_it(shell: Any, fabric_url: str, fabric_client: Any) -> None:
    state = reload_extension(shell)
    shell.run_line_magic("livy", f"connect --connection-string {fabric_url} --keep --name kept")
    shell.run_cell_magic("livy", "-q", "kept_value = 41")
    kept_id = state.session.session_id
    state = reload_extension(shell)  # like a kernel shutdown
    assert fabric_client.get_session(kept_id).is_ready
    try:
        shell.run_line_magic("livy", f"connect --connection-string {fabric_url}")
        with capture_output() as cap:
            shell.run_line_magic("livy", f"attach {kept_id}")
        assert f"Attached to session {kept_id}" in cap.stdout
        with capture_output() as cap:
            shell.run_cell_magic("livy", "", "print(kept_value + 1)")
        assert cap.stdout == "42\n"
        reload_extension(shell)  # an attached session is not ours to delete
        assert fabric_client.get_session(kept_id).is_ready

        state = reload_extension(shell)
        shell.run_line_magic("livy", f"connect --connection-string {fabric_url}")
        shell.run_line_magic("livy", f"attach {kept_id}")
        fabric_client.delete_session(kept_id)  # behind the notebook's back
        assert state.session.keep_alive_once() is False  # the keep-alive notices
        with pytest.raises(SessionDead) as info:
            shell.run_cell_magic("livy", "", "1")
        [line] = info.value._render_traceback_()
        assert "gone" in line and "%livy restart" in line
    finally:
        fabric_client.delete_session(kept_id, missing_ok=True)
        reload_extension(shell)
