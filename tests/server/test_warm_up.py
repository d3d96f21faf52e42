"""A session started cold warms Spark (a tiny job through the Arrow path of ``-o``) on a thread
once it is ready, so the person's first ``-o`` does not pay for class loading and code generation.
Seen through the session's real Spark REST API: the job group ``fabric-livy-warm-up``."""

from __future__ import annotations

import time

import requests
from server_api import Api

from fabric_livy_magics.server.repl import WARM_UP_GROUP


def test_a_cold_session_runs_its_warm_up_jobs_after_it_is_ready(livy: Api, pyspark_session: int) -> None:
    session = livy.get(f"/sessions/{pyspark_session}").json()
    ui, app = session["appInfo"]["sparkUiUrl"], session["appId"]
    assert ui and app, session
    deadline = time.monotonic() + 60
    groups: list[str | None] = []
    while time.monotonic() < deadline:
        jobs = requests.get(f"{ui}/api/v1/applications/{app}/jobs", timeout=10).json()
        groups = [job.get("jobGroup") for job in jobs]
        if groups.count(WARM_UP_GROUP) >= 2 and all(
                job["status"] != "RUNNING" for job in jobs if job.get("jobGroup") == WARM_UP_GROUP):
            break
        time.sleep(0.5)
    assert groups.count(WARM_UP_GROUP) >= 2, groups  # the shuffle job and the Arrow collect
    # statements keep their own groups: the warm-up never counts as a statement's job
    run = livy.run(pyspark_session, "spark.range(5).count()")
    assert run["output"]["status"] == "ok"
