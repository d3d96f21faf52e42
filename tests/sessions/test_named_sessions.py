"""Several named sessions in one notebook (a real shell): each name its own server, kind and
variables, used alternately; bad names are one-line usage errors that send nothing."""

from __future__ import annotations

from typing import Any

import pytest
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output
from sessions_helpers import fresh_state, live_ids

from fabric_livy_magics.livy.client import LivyClient

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def two_named(shell: Any, livy_server: Any, other_server: Any) -> Any:
    """Sessions 'alpha' on the shared server and 'beta' on the other one (started lazily)."""
    state = fresh_state(shell)
    with capture_output() as cap:
        shell.run_line_magic("livy", f"connect -s alpha --url {livy_server.url} --name alpha-test --lazy")
        shell.run_line_magic("livy", f"connect -s beta --url {other_server.url} --kind sql --lazy")
    assert "Session 'alpha': connected to Livy server" in cap.stdout
    assert "Session 'beta': connected" in cap.stdout
    yield state
    fresh_state(shell)


def test_two_named_sessions_on_two_servers_used_alternately(shell: Any, two_named: Any, livy_server: Any,
                                                           other_server: Any) -> None:
    before_default = live_ids(livy_server.url) | live_ids(other_server.url)
    shell.run_cell_magic("livy", "-s alpha -q", "import os\nwho = 'alpha'")
    shell.run_cell_magic("livy", "-s beta -l pyspark -q", "import os\nwho = 'beta'")
    for _ in range(2):  # alternate: each name keeps its own variables
        for name in ("alpha", "beta"):
            with capture_output() as cap:
                shell.run_cell_magic("livy", f"-s {name} -l pyspark", "print(who, os.getpid())")
            said, pid = cap.stdout.split()
            assert said == name
    alpha, beta = two_named.slots()["alpha"].session, two_named.slots()["beta"].session
    assert alpha.client.endpoint.root == livy_server.url and beta.client.endpoint.root == other_server.url
    assert alpha.session_id in live_ids(livy_server.url) and beta.session_id in live_ids(other_server.url)
    assert two_named.slots()[""].session is None  # no -s: the default session was never touched
    assert (live_ids(livy_server.url) | live_ids(other_server.url)) - before_default == {
        alpha.session_id, beta.session_id} - before_default

    # beta's kind is sql: a cell without -l runs SQL there; %%livy_sql -s too
    shell.run_cell_magic("livy", "-s beta -l pyspark -q", "spark.range(3).createOrReplaceTempView('beta_view')")
    shell.run_cell_magic("livy", "-s beta -q -o from_beta", "select count(*) as n from beta_view")
    assert int(shell.user_ns["from_beta"]["n"][0]) == 3
    shell.run_cell_magic("livy_sql", "-s beta -q -o sql_beta", "select max(id) as m from beta_view")
    assert int(shell.user_ns["sql_beta"]["m"][0]) == 2


def test_commands_take_s_and_sessions_marks_the_names(shell: Any, two_named: Any, livy_server: Any) -> None:
    shell.run_cell_magic("livy", "-s alpha -q", "x = 1")
    alpha_id = two_named.slots()["alpha"].session.session_id
    with capture_output() as cap:
        shell.run_line_magic("livy", "status -s alpha")
    assert cap.stdout.startswith(f"Session {alpha_id}: idle")
    with capture_output() as cap:
        shell.run_line_magic("livy", "info -s alpha")
    plain = cap.outputs[0].data["text/plain"]
    assert "Name             alpha" in plain and f"Session          {alpha_id}" in plain
    with capture_output() as cap:
        shell.run_line_magic("livy", "sessions -s alpha")
    frame_text = cap.outputs[0].data["text/plain"]
    mine = [line for line in frame_text.splitlines() if line.split()[:1] == [str(alpha_id)]]
    assert mine and mine[0].rstrip().endswith("alpha"), frame_text
    assert "This notebook also holds beta: session" in cap.stdout


def test_stop_and_restart_one_name_leave_the_other(shell: Any, two_named: Any, livy_server: Any,
                                                   other_server: Any) -> None:
    shell.run_cell_magic("livy", "-s alpha -q", "y = 1")
    shell.run_cell_magic("livy", "-s beta -l pyspark -q", "y = 2")
    alpha_id = two_named.slots()["alpha"].session.session_id
    beta_id = two_named.slots()["beta"].session.session_id
    with capture_output() as cap:
        shell.run_line_magic("livy", "stop -s alpha")
    assert f"Session {alpha_id} deleted" in cap.stdout
    assert alpha_id not in live_ids(livy_server.url) and beta_id in live_ids(other_server.url)
    with capture_output() as cap:
        shell.run_cell_magic("livy", "-s beta -l pyspark", "print(y)")
    assert cap.stdout == "2\n"


@pytest.mark.parametrize("line, message", [
    ('-s ""', "-s needs a session name"),
    ("-s 'two words'", "is not usable"),
    ("-s nosuch", "No session named 'nosuch'"),
    ("-s a/b", "is not usable"),
    ("-s", "expected one argument"),
])
def test_bad_names_in_a_cell_are_one_line_and_send_nothing(shell: Any, two_named: Any, livy_server: Any,
                                                           line: str, message: str) -> None:
    before = _statement_counts(livy_server.url)
    with pytest.raises(UsageError) as info:
        shell.run_cell_magic("livy", line, "print('must not run')")
    assert message in str(info.value) and "\n" not in str(info.value)
    assert _statement_counts(livy_server.url) == before


@pytest.mark.parametrize("line, message", [
    ("info -s", "-s needs a session name"),
    ('status -s ""', "-s needs a session name"),
    ("stop -s nosuch", "No session named 'nosuch'"),
    ("logs -s 'x y'", "is not usable"),
    ("cancel -s alpha -s beta", "Give -s once"),
    ('connect -s "" --url http://127.0.0.1:1', "-s needs a session name"),
    ("connect -s b@d --url http://127.0.0.1:1", "is not usable"),
])
def test_bad_names_in_commands_are_one_line_and_send_nothing(shell: Any, two_named: Any, livy_server: Any,
                                                             line: str, message: str) -> None:
    before = _statement_counts(livy_server.url), set(two_named.slots())
    with pytest.raises(UsageError) as info:
        shell.run_line_magic("livy", line)
    assert message in str(info.value) and "\n" not in str(info.value)
    assert (_statement_counts(livy_server.url), set(two_named.slots())) == before


def _statement_counts(url: str) -> dict[Any, int]:
    with LivyClient(url) as client:
        return {s.id: len(client.list_statements(s.id)) for s in client.iter_sessions() if s.is_ready}



def test_s_is_read_from_command_lines_as_typed_and_quoted_text_is_left_alone() -> None:
    from fabric_livy_magics.notebook.commands.named import split_session_option

    assert split_session_option("-n 5 -s fab") == ("fab", "-n 5")
    assert split_session_option("--session=fab --driver") == ("fab", "--driver")
    assert split_session_option("--session 'fab' -n 3") == ("fab", "-n 3")
    assert split_session_option('"my -s table" --count') == (None, '"my -s table" --count')
    assert split_session_option("") == (None, "")
