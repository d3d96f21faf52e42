"""``client.monitoring`` against the local server's Fabric-shaped monitoring routes, backed by a
real Spark session's REST API and the server's own records; and what the Livy shape offers."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from fabric_livy_magics.errors import ConfigurationError, LivyHTTPError, MalformedResponse
from fabric_livy_magics.livy.client import LivyClient
from fabric_livy_magics.livy.models import Batch, Session
from fabric_livy_magics.server.repl import WARM_UP_GROUP

pytestmark = pytest.mark.timeout(300)


def test_the_lakehouse_lists_the_session_and_the_finished_batch(fabric_client: LivyClient, ui_session: Session,
                                                                finished_batch: Batch) -> None:
    runs = {run.livy_id: run for run in fabric_client.monitoring.history()}
    session, batch = runs[str(ui_session.id)], runs[str(finished_batch.id)]
    assert (session.job_type, session.state, session.app_id) == ("SparkSession", "InProgress", ui_session.app_id)
    assert (batch.job_type, batch.state, batch.name) == ("SparkBatch", "Succeeded", "monitoring-batch")
    assert batch.has_ended and batch.duration is not None and batch.duration > 0
    assert session.submitted_at is not None and session.duration is not None
    only_batches = fabric_client.monitoring.history(batches=True)
    assert only_batches and all(run.is_batch for run in only_batches)
    assert len(fabric_client.monitoring.history(limit=1)) == 1
    assert fabric_client.monitoring.get_run(ui_session.id).name == "monitoring-tests"
    odd = fabric_client.http.send("GET", fabric_client.monitoring.root, what="list runs",
                                  params={"continuationToken": "\u00b2"})
    assert odd.status_code == 200 and odd.json()["value"]  # an unreadable token starts at the top


def test_real_spark_jobs_stages_and_executors(fabric_client: LivyClient, ui_session: Session) -> None:
    monitoring = fabric_client.monitoring
    jobs = monitoring.list_jobs(ui_session.id, ui_session.app_id)
    assert jobs and all(job.status == "SUCCEEDED" for job in jobs)
    # the statement's job group, beside the session's own warm-up jobs
    assert {job.job_group for job in jobs} - {WARM_UP_GROUP} == {"livy-default-0"}
    stages = monitoring.list_stages(ui_session.id, ui_session.app_id)
    assert {stage for job in jobs for stage in job.stage_ids} <= {stage.stage_id for stage in stages}
    (driver,) = monitoring.list_executors(ui_session.id, ui_session.app_id)
    assert driver.executor_id == "driver" and driver.total_cores == 2 and driver.completed_tasks > 0
    progress = monitoring.statement_progress(ui_session.id, ui_session.app_id, 0)
    assert progress.jobs_total >= 2 and progress.jobs_done == progress.jobs_total
    assert progress.tasks_done == progress.tasks_total > 0 and progress.fraction == 1.0
    assert monitoring.statement_progress(ui_session.id, ui_session.app_id, 999).jobs_total == 0
    usage = monitoring.get_resource_usage(ui_session.id, ui_session.app_id)
    assert usage.allocated_cores == (2.0,)
    assert monitoring.list_advice(ui_session.id, ui_session.app_id) == ()


def test_logs_of_each_type_come_back_and_page_by_bytes(fabric_client: LivyClient, ui_session: Session) -> None:
    monitoring, livy_id, app = fabric_client.monitoring, ui_session.id, ui_session.app_id
    (driver,) = monitoring.log_containers(livy_id, app, "driver", file_name="stderr")
    size = driver.files[0].length
    assert driver.container_id == "driver" and size > 200
    whole = monitoring.read_log(livy_id, app, "driver", file_name="stderr")
    assert len(whole) == size
    pages = b"".join(monitoring.read_log(livy_id, app, "driver", file_name="stderr", offset=start, size=100)
                     for start in range(0, size, 100))
    assert pages == whole  # pages of 100 bytes put back together are the whole file
    tail = monitoring.tail_log(livy_id, app, "driver", lines=2, file_name="stderr")
    assert list(tail.lines) == whole.decode().splitlines()[-2:] and tail.end == size
    (executor,) = monitoring.log_containers(livy_id, app, "executor", file_name="stderr")
    assert executor.container_id == "driver"  # local[2]: the executors run in the driver
    livy_log = monitoring.tail_log(livy_id, None, "livy", lines=50)
    assert any(line.endswith("is starting") for line in livy_log.lines)
    assert livy_log.file is not None and livy_log.file.file_name == "livy.log"


def test_follow_yields_lines_written_after_it_started(fabric_client: LivyClient, ui_session: Session) -> None:
    monitoring, livy_id, app = fabric_client.monitoring, ui_session.id, ui_session.app_id
    start = monitoring.tail_log(livy_id, app, "driver", lines=1, file_name="stderr").end
    deadline = time.monotonic() + 60
    writer = threading.Thread(target=fabric_client.run_statement, args=(
        ui_session, "import sys, os; os.write(2, b'FOLLOW-ME from the driver\\n')"), kwargs={"kind": "pyspark"})
    writer.start()
    seen: list[str] = []
    for lines in monitoring.follow_log(livy_id, app, "driver", start=start, file_name="stderr", interval=0.3,
                                       keep_going=lambda: time.monotonic() < deadline):
        seen += lines
        if any("FOLLOW-ME" in line for line in lines):
            break
    writer.join(60)
    assert any("FOLLOW-ME from the driver" in line for line in seen)


def test_unknown_application_and_missing_file_are_one_line_each(fabric_client: LivyClient,
                                                                ui_session: Session) -> None:
    monitoring = fabric_client.monitoring
    with pytest.raises(LivyHTTPError, match=r"HTTP 404.*is not the application of Livy session") as unknown:
        monitoring.list_jobs(ui_session.id, "application_1704417105000_0001")
    assert unknown.value.status_code == 404 and "\n" not in str(unknown.value)
    with pytest.raises(LivyHTTPError, match="read fileName=stderr"):
        monitoring.tail_log(ui_session.id, ui_session.app_id, "driver", lines=5, file_name="stdout")
    with pytest.raises(LivyHTTPError, match="not found in this lakehouse"):
        monitoring.get_run("00000000-0000-4000-8000-000000000000")


def test_a_batch_has_driver_logs_but_no_spark_metrics(fabric_client: LivyClient, finished_batch: Batch) -> None:
    with pytest.raises(LivyHTTPError, match="keeps no Spark metrics for batch jobs"):
        fabric_client.monitoring.list_jobs(finished_batch.id, "local-1")
    lines = fabric_client.monitoring.tail_log(finished_batch.id, finished_batch.app_id, "driver", lines=200,
                                              file_name="stderr").lines
    assert any("BATCH SUM 55" in line for line in lines)


def test_apache_livy_shape_has_history_but_no_monitoring_api(livy_client: LivyClient, livy_number: int,
                                                             finished_batch: Batch) -> None:
    monitoring = livy_client.monitoring
    assert not monitoring.available
    runs = monitoring.history()
    assert str(livy_number) in {run.livy_id for run in runs}
    assert any(run.is_batch and run.name == "monitoring-batch" for run in runs)
    assert monitoring.get_run(livy_number).name == "monitoring-tests"
    with pytest.raises(ConfigurationError, match="Apache Livy has no"):
        monitoring.list_jobs(livy_number, "local-1")
    assert monitoring.livy_log(livy_number, lines=5).lines


def test_an_answer_of_the_wrong_shape_is_malformed_naming_the_url(httpserver: Any) -> None:
    from fabric_livy_magics.livy.endpoints import FabricEndpoint

    root = "/v1/workspaces/5a6b7c8d-1e2f-4a3b-8c4d-5e6f7a8b9c0d/lakehouses/0d9c8b7a-6f5e-4d4c-9b3a-2f1e0d9c8b7a"
    httpserver.expect_request(root + "/livySessions/abc/applications/app_1/jobs").respond_with_json({"jobs": []})
    httpserver.expect_request(root + "/livySessions/abc/applications/app_1/stages").respond_with_json(
        [{"stageId": "x"}])
    endpoint = FabricEndpoint("5a6b7c8d-1e2f-4a3b-8c4d-5e6f7a8b9c0d", "0d9c8b7a-6f5e-4d4c-9b3a-2f1e0d9c8b7a",
                              base_url=httpserver.url_for("/").rstrip("/"))
    with LivyClient(endpoint) as client:
        with pytest.raises(MalformedResponse, match=r"/livySessions/abc/applications/app_1/jobs answered dict"):
            client.monitoring.list_jobs("abc", "app_1")
        with pytest.raises(MalformedResponse, match=r"/stages answered a Spark stage without its 'stageId'"):
            client.monitoring.list_stages("abc", "app_1")


def test_a_403_names_the_scope_to_add(httpserver: Any) -> None:
    from fabric_livy_magics.livy.endpoints import FabricEndpoint

    httpserver.expect_request("/v1/workspaces/5a6b7c8d-1e2f-4a3b-8c4d-5e6f7a8b9c0d/lakehouses/"
                              "0d9c8b7a-6f5e-4d4c-9b3a-2f1e0d9c8b7a/livySessions").respond_with_json(
        {"errorCode": "InsufficientScopes", "message": "The caller does not have sufficient scopes",
         "requestId": "r-1"}, status=403)
    endpoint = FabricEndpoint("5a6b7c8d-1e2f-4a3b-8c4d-5e6f7a8b9c0d", "0d9c8b7a-6f5e-4d4c-9b3a-2f1e0d9c8b7a",
                              base_url=httpserver.url_for("/").rstrip("/"))
    with LivyClient(endpoint) as client, pytest.raises(LivyHTTPError) as denied:
        client.monitoring.history()
    message = str(denied.value)
    assert "Item.Read.All (or Lakehouse.Read.All)" in message and "InsufficientScopes" in message
    assert "r-1" in message and "\n" not in message and denied.value.status_code == 403
