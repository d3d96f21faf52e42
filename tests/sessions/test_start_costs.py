"""Start-cost feedback from Fabric-shaped answers of the local server: the start's phases with
their seconds, why a start is slower than the starter pool, vCores and a capacity-unit estimate
in ``%livy info``, and the note for an idle session that bills and will end."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from IPython.utils.capture import capture_output
from sessions_helpers import fresh_state

from fabric_livy_magics.livy.models import Session
from fabric_livy_magics.livy.session_info import capacity_usage, idle_note, idle_seconds
from fabric_livy_magics.livy.starting import PhaseClock, start_cost_note, start_cost_reasons

pytestmark = pytest.mark.timeout(300)

WS = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
LH = "4d3c2b1a-0f9e-4d8c-b7a6-5f4e3d2c1b0a"


@pytest.fixture(scope="module")
def fabric_notebook(shell: Any, livy_server: Any) -> Any:
    """A notebook on the server's Fabric shape whose conf moves it off Fabric's starter pool."""
    state = fresh_state(shell)
    url = livy_server.fabric_url(WS, LH) + "/sessions"
    shell.run_line_magic("livy", f"connect --connection-string {url} --lazy "
                                 "--conf spark.livy.session.idle.timeout=30m")
    shell.run_cell_magic("livy", "-q", "spark.range(10).count()")
    yield state
    fresh_state(shell)


def test_info_shows_start_phases_vcores_and_capacity_units(shell: Any, fabric_notebook: Any) -> None:
    session = fabric_notebook.session
    phases = [phase for phase, _ in session.start_phases.phases()]
    assert phases[-1] == "idle" and "acquiringSession" in phases  # Fabric's phase while Spark starts
    with capture_output() as cap:
        shell.run_line_magic("livy", "info")
    plain = cap.outputs[0].data["text/plain"]
    start = re.search(r"^Start\s+(\d+) s \((.+)\)$", plain, re.MULTILINE)
    assert start and re.search(r"acquiring \d+ s", start.group(2)), plain
    capacity = re.search(r"^Capacity\s+(\d+) vCores \((\d+) executor\(s\), from the Spark executors\); "
                         r"≈ ([\d,]+) CU-seconds \(([\d.]+) CU-hours\) over ([\d.]+) min active$", plain, re.MULTILINE)
    assert capacity, plain
    vcores = int(capacity.group(1))
    assert vcores == 2  # the local[2] driver runs the tasks here
    cu_seconds, minutes = float(capacity.group(3).replace(",", "")), float(capacity.group(5))
    assert cu_seconds == pytest.approx(vcores / 2 * minutes * 60, abs=vcores / 2 * 6 + 1)
    assert "Idle" not in plain  # keep-alive is on, and the session was just used


def test_a_slow_start_says_why_from_the_answer(fabric_notebook: Any) -> None:
    session = fabric_notebook.session
    answer = session.refresh()
    reasons = start_cost_reasons(answer)  # from the answer's livyInfo.jobCreationRequest alone
    assert reasons == ["conf spark.livy.session.idle.timeout moves the session off the starter pool "
                       "(UserSparkConfigMismatch)"]
    assert start_cost_note(answer.id, session.start_phases, reasons) is None  # a local start is fast

    now = [0.0]  # the phases of a slow Fabric start, as polls would see them
    clock = PhaseClock(clock=lambda: now[0])
    for at, phase in ((0, "queued"), (4, "queued"), (6, "acquiringSession"), (170, "starting"), (185, "idle")):
        now[0] = float(at)
        shown = clock.observe(phase)
    assert shown == "queued 6 s, acquiring 164 s, starting 15 s · idle 0 s"
    note = start_cost_note(answer.id, clock, reasons)
    assert note == (f"Session {answer.id} took 3m 05s to start (queued 6 s, acquiring 164 s, starting 15 s), "
                    "slower than a starter-pool start (under 60 s): conf spark.livy.session.idle.timeout moves "
                    "the session off the starter pool (UserSparkConfigMismatch).")
    libraries = start_cost_reasons(answer, conf={}, environment_id="e", phases=["libraryPackaging"])
    assert any("library packaging" in reason for reason in libraries)


def test_capacity_from_the_request_counts_driver_and_executors(fabric_notebook: Any) -> None:
    answer = fabric_notebook.session.refresh()
    started = answer.livy_info["startingAt"]
    request = {"driverCores": 4, "executorCores": 4, "numExecutors": 2, "conf": {}}
    sized = Session(id=answer.id, state=answer.state, livy_info={**answer.livy_info, "jobCreationRequest": request})
    at = dt.datetime.fromisoformat(started.replace("Z", "+00:00")) + dt.timedelta(minutes=30)
    usage = capacity_usage(sized, elapsed=0.0, now=at)
    assert (usage.vcores, usage.executors, usage.source) == (12, 2, "request")
    assert usage.cu_seconds == pytest.approx(6 * 30 * 60)  # 12 vCores = 6 CU, for 30 minutes


def test_idle_note_after_15_of_20_minutes_without_keepalive(fabric_notebook: Any) -> None:
    answer = fabric_notebook.session.refresh()
    idle_since = dt.datetime.fromisoformat(answer.livy_info["idleAt"].replace("Z", "+00:00"))
    assert idle_seconds(answer) is not None
    later = idle_seconds(answer, now=idle_since + dt.timedelta(minutes=16))
    assert later == pytest.approx(16 * 60)
    note = idle_note(answer.id, later, keepalive=False, is_fabric=True)
    assert note is not None and "\n" not in note
    assert "idle 16 min" in note and "billed" in note and "about 4 min" in note
    assert idle_note(answer.id, later, keepalive=True, is_fabric=True) is None
    assert idle_note(answer.id, 14 * 60, keepalive=False, is_fabric=True) is None
    assert idle_note(answer.id, later, keepalive=False, is_fabric=False) is None
