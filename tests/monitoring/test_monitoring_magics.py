"""``%livy logs|history|advice`` (and ``info``'s Spark UI link) in a real shell, attached to the
shared session through each URL shape of the local server."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output

from fabric_livy_magics.livy.models import Batch, Session
from fabric_livy_magics.notebook.commands.cell import state_of
from fabric_livy_magics.notebook.commands.state import NotebookState

from monitoring_helpers import LH, WS

pytestmark = pytest.mark.timeout(300)


def _fresh(shell: Any) -> NotebookState:
    shell.run_line_magic("unload_ext", "fabric_livy_magics")
    shell.run_line_magic("load_ext", "fabric_livy_magics")
    return state_of(shell)


@pytest.fixture(scope="module")
def fabric_notebook(shell: Any, livy_server: Any, ui_session: Session) -> Iterator[NotebookState]:
    state = _fresh(shell)
    shell.run_line_magic("livy", f"connect --connection-string {livy_server.fabric_url(WS, LH)}/sessions")
    shell.run_line_magic("livy", f"attach {ui_session.id}")
    yield state
    _fresh(shell)  # attached: the session is left running for the other tests


@pytest.fixture()
def livy_notebook(shell: Any, livy_server: Any, livy_number: int) -> Iterator[NotebookState]:
    state = _fresh(shell)
    shell.run_line_magic("livy", f"connect --url {livy_server.url}")
    shell.run_line_magic("livy", f"attach {livy_number}")
    yield state
    _fresh(shell)


def _run(shell: Any, line: str) -> Any:
    with capture_output() as cap:
        shell.run_line_magic("livy", line)
    return cap


def test_logs_of_each_source_on_fabric(shell: Any, fabric_notebook: NotebookState, ui_session: Session) -> None:
    driver = _run(shell, "logs -n 3").stdout.splitlines()
    assert 0 < len(driver) <= 3
    assert _run(shell, "logs --driver --stderr -n 3").stdout.splitlines() == driver
    livy = _run(shell, "logs --livy").stdout
    assert f"session {ui_session.id} is starting" in livy
    executor = _run(shell, "logs --executor -n 2").stdout.splitlines()
    assert executor[0] == "== executor container driver ==" and len(executor) == 3
    with pytest.raises(Exception, match="keeps the driver's stdout and stderr together") as no_stdout:
        shell.run_line_magic("livy", "logs --stdout")
    assert "\n" not in str(no_stdout.value)
    with pytest.raises(UsageError, match="Choose one log"):
        shell.run_line_magic("livy", "logs --driver --livy")


def test_history_lists_the_session_and_the_batch_and_shows_one(shell: Any, fabric_notebook: NotebookState,
                                                               ui_session: Session, finished_batch: Batch) -> None:
    table = _run(shell, "history").outputs[0].data["text/html"]
    assert str(ui_session.id) in table and str(finished_batch.id) in table
    assert "monitoring-tests" in table and "Succeeded" in table and "True" in table  # this notebook
    batches = _run(shell, "history --batches -n 5").outputs[0].data["text/html"]
    assert str(finished_batch.id) in batches and str(ui_session.id) not in batches
    detail = _run(shell, f"history {ui_session.id}").outputs[0].data["text/html"]
    assert ui_session.app_id in detail and "jobs " in detail and "tasks " in detail
    with pytest.raises(UsageError, match="not a GUID"):
        shell.run_line_magic("livy", "history 42")


def test_advice_renders_and_info_links_a_reachable_spark_ui(shell: Any, fabric_notebook: NotebookState,
                                                             ui_session: Session) -> None:
    assert _run(shell, "advice").stdout.strip() == (
        f"No Spark advice for session {ui_session.id} (application {ui_session.app_id}).")
    info = _run(shell, "info").outputs[0].data
    (link,) = [line.split()[-1] for line in info["text/plain"].splitlines() if line.startswith("Spark UI")]
    assert f'href="{link}"' in info["text/html"]
    with urllib.request.urlopen(f"{link}/api/v1/applications", timeout=10) as answer:  # noqa: S310
        assert ui_session.app_id in answer.read().decode()


def test_livy_shape_logs_history_and_one_line_refusals(shell: Any, livy_notebook: NotebookState, livy_number: int,
                                                       finished_batch: Batch) -> None:
    assert 0 < len(_run(shell, "logs -n 4").stdout.splitlines()) <= 4
    for line, said in (("logs --livy", "no separate Livy log"), ("logs --executor", "no executor logs"),
                       ("advice", "Apache Livy has none")):
        with pytest.raises(UsageError, match=said) as refused:
            shell.run_line_magic("livy", line)
        assert "\n" not in str(refused.value)
    table = _run(shell, "history").outputs[0].data["text/html"]
    assert "monitoring-tests" in table and "monitoring-batch" in table
    assert "monitoring-tests" in _run(shell, f"history {livy_number}").outputs[0].data["text/html"]


def test_looking_without_a_session_starts_nothing(shell: Any) -> None:
    state = _fresh(shell)
    for line in ("logs", "advice"):
        assert _run(shell, line).stdout.startswith("No session")
    assert state.session is None and state.started_server is None
    with pytest.raises(UsageError, match="positive"):
        shell.run_line_magic("livy", "logs -n 0")
