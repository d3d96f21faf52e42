"""The progress line of a running cell counts the statement's Spark jobs, stages and tasks (Fabric
shape, from the monitoring API over real Spark), and keeps Livy's own ``progress`` in the Livy shape.

Outside a Jupyter frontend the line goes to stderr as carriage-return updates, which is what these
tests read: every value the display showed, in order.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from IPython.utils.capture import capture_output

from fabric_livy_magics.livy.models import Session
from fabric_livy_magics.notebook.commands.cell import state_of

from monitoring_helpers import LH, WS

pytestmark = pytest.mark.timeout(300)

#: Two jobs, three stages, slow tasks (1 s each on 2 cores): about 8 s of visible work.
MULTI_STAGE = """\
import time
def slow(x):
    time.sleep(1)
    return x
pairs = sc.parallelize(range(8), 8).map(lambda x: (slow(x) % 3, 1))
print(pairs.count(), sorted(pairs.reduceByKey(lambda a, b: a + b, 4).map(slow).collect()))
"""
WORK = re.compile(r"jobs (\d+)/(\d+) · stages (\d+)/(\d+) · tasks (\d+)/(\d+)")


def _attached(shell: Any, connect: str, session_ref: object) -> None:
    shell.run_line_magic("unload_ext", "fabric_livy_magics")
    shell.run_line_magic("load_ext", "fabric_livy_magics")
    shell.run_line_magic("config", "LivyMagics.progress_delay = 0")
    shell.run_line_magic("livy", connect)
    shell.run_line_magic("livy", f"attach {session_ref}")


@pytest.fixture()
def reset(shell: Any) -> Iterator[None]:
    yield
    shell.run_line_magic("config", "LivyMagics.progress_delay = 1.0")
    shell.run_line_magic("unload_ext", "fabric_livy_magics")
    shell.run_line_magic("load_ext", "fabric_livy_magics")


def test_fabric_progress_line_counts_jobs_stages_and_tasks(shell: Any, livy_server: Any, ui_session: Session,
                                                           reset: None) -> None:
    _attached(shell, f"connect --connection-string {livy_server.fabric_url(WS, LH)}/sessions", ui_session.id)
    with capture_output() as cap:
        shell.run_cell_magic("livy", "", MULTI_STAGE)
    assert cap.stdout == "8 [(0, 3), (1, 3), (2, 2)]\n"
    seen = [tuple(map(int, match)) for match in WORK.findall(cap.stderr)]
    distinct = list(dict.fromkeys(seen))  # the values the line showed, in order, each once
    assert len(distinct) >= 3, distinct
    tasks_done = [values[4] for values in distinct]
    assert tasks_done == sorted(tasks_done) and tasks_done[0] < tasks_done[-1]  # moving forward only
    assert max(values[1] for values in distinct) == 2  # both jobs were counted
    assert max(values[3] for values in distinct) >= 3  # with their stages
    assert all(done <= total for values in distinct for done, total in zip(values[::2], values[1::2]))
    assert state_of(shell).session.session_id == ui_session.id


def test_livy_shape_keeps_the_statement_progress(shell: Any, livy_server: Any, livy_number: int,
                                                 reset: None) -> None:
    _attached(shell, f"connect --url {livy_server.url}", livy_number)
    with capture_output() as cap:
        shell.run_cell_magic("livy", "", MULTI_STAGE)
    assert cap.stdout == "8 [(0, 3), (1, 3), (2, 2)]\n"
    percents = [int(p) for p in re.findall(r"\]\s+(\d+)%", cap.stderr)]
    assert len(set(percents)) >= 2 and percents == sorted(percents)
    assert not WORK.search(cap.stderr)  # Apache Livy has no monitoring API to count jobs with
