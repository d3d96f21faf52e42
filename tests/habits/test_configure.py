"""``%%configure`` through a real shell: checked before anything remote, applied to the next
session, ``-f`` restarts the running one with it. Starts two Spark sessions of its own."""

from __future__ import annotations

from typing import Any

import pytest
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output

pytestmark = pytest.mark.timeout(420)

SIZES = '{"driverMemory": "768m", "executorMemory": "512m", "numExecutors": 2, "executorCores": 1,\n' \
        ' "name": "configured", "conf": {"spark.sql.shuffle.partitions": "7", "spark.ui.showConsoleProgress": false}}'
READ_CONF = ("print(sc.getConf().get('spark.driver.memory'), sc.getConf().get('spark.executor.memory'), "
             "sc.getConf().get('spark.executor.instances'), spark.conf.get('spark.sql.shuffle.partitions'))")


def _sessions(client: Any) -> set[Any]:
    return {s.id for s in client.iter_sessions() if not s.has_ended}


@pytest.mark.parametrize(("cell", "says"), [
    ("{not json", "not valid JSON"),
    ('["driverMemory"]', "must be a JSON object"),
    ('{"driverMemory": "4g", "jars": []}', "unknown setting(s) 'jars'"),
    ('{"driverMemory": 4}', 'driverMemory takes a size such as "4g"'),
    ('{"numExecutors": 0}', "numExecutors takes a whole number >= 1"),
    ('{"conf": {"spark.x": {"nested": 1}}}', "conf spark.x takes a text, number or true/false value"),
    ('{"conf": {"fs.azure.account.key.acct": "k"}}', "looks like a secret"),
    ('{"kind": "scala"}', "kind must be one of"),
    ("  \n", "the cell is empty"),
])
def test_bad_bodies_are_one_line_and_change_nothing(shell: Any, notebook: Any, server_client: Any,
                                                    cell: str, says: str) -> None:
    before, options = _sessions(server_client), notebook.options
    with pytest.raises(UsageError) as caught:
        shell.run_cell_magic("configure", "", cell)
    message = str(caught.value)
    assert says in message and "\n" not in message
    assert message.startswith("%%configure: ")
    assert notebook.options == options and _sessions(server_client) == before


def test_before_a_session_it_sets_the_settings_the_first_cell_uses(shell: Any, notebook: Any,
                                                                    server_client: Any) -> None:
    before = _sessions(server_client)
    with capture_output() as cap:
        shell.run_cell_magic("configure", "", SIZES)
    assert "The next session starts with them." in cap.stdout
    assert _sessions(server_client) == before  # nothing started
    assert notebook.options.conf["spark.executor.instances"] == "2"
    assert notebook.options.name == "configured"
    with capture_output() as cap:
        shell.run_cell_magic("livy", "", READ_CONF)
    assert cap.stdout.split() == ["768m", "512m", "2", "7"]
    remote = server_client.get_session(notebook.session.session_id)
    assert remote.name == "configured"


def test_without_f_a_running_session_keeps_going_and_the_next_one_gets_them(
        shell: Any, notebook: Any) -> None:
    notebook.get_session().ensure()
    running = notebook.session.session_id
    with capture_output() as cap:
        shell.run_cell_magic("configure", "", '{"conf": {"spark.sql.shuffle.partitions": "5"}}')
    assert f"Session {running} keeps running" in cap.stdout and "%%configure -f" in cap.stdout
    with capture_output() as cap:
        shell.run_cell_magic("livy", "", "print(spark.conf.get('spark.sql.shuffle.partitions'))")
    assert cap.stdout.strip() == "7" and notebook.session.session_id == running


def test_f_restarts_the_session_with_the_settings(shell: Any, notebook: Any, server_client: Any) -> None:
    old = notebook.get_session().session_id
    shell.run_cell_magic("livy", "", "marker = 1")
    with capture_output() as cap:
        shell.run_cell_magic("configure", "-f", '{"conf": {"spark.sql.shuffle.partitions": "3"}}')
    new = notebook.session.session_id
    assert new != old and f"Session {new} started with" in cap.stdout
    assert old not in _sessions(server_client)  # the replaced session was deleted
    with capture_output() as cap:
        shell.run_cell_magic("livy", "", READ_CONF + "\nprint('marker' in globals())")
    values, fresh = cap.stdout.strip().splitlines()
    assert values.split() == ["768m", "512m", "2", "3"] and fresh == "False"


def test_help_and_unknown_option(shell: Any, notebook: Any) -> None:
    with pytest.raises(UsageError):
        shell.run_cell_magic("configure", "--restart-now", "{}")
    assert "driverMemory" in (shell.magics_manager.magics["cell"]["configure"].__doc__ or "")


def test_a_session_starting_in_the_background_is_replaced(shell: Any, notebook: Any, server_client: Any,
                                                         livy_server: Any) -> None:
    """After `%livy connect --eager` the session starts before any cell: a first-cell %%configure
    replaces it (nothing ran in it yet), and the replaced one is deleted once it is up."""
    import time

    before = _sessions(server_client)
    shell.run_line_magic("livy", f"connect --url {livy_server.url} --eager")
    with capture_output() as cap:
        shell.run_cell_magic("configure", "", '{"conf": {"spark.sql.shuffle.partitions": "9"}}')
    assert "was replaced by one with them" in cap.stdout
    with capture_output() as cap:
        shell.run_cell_magic("livy", "", "print(spark.conf.get('spark.sql.shuffle.partitions'))")
    assert cap.stdout.strip().splitlines()[-1] == "9"
    deadline = time.monotonic() + 120
    while len(_sessions(server_client) - before) > 1 and time.monotonic() < deadline:
        time.sleep(1)
    assert _sessions(server_client) - before == {notebook.session.session_id}
