"""The monitoring models read Fabric's documented answers, and refuse answers without their ids.

Each ``*_DOC`` payload below is the literal sample answer of a Fabric docs page (named above it),
copied as printed. Where the page's sample is not valid JSON, the one character changed to make
it parse is said next to it.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from fabric_livy_magics.errors import MalformedResponse
from fabric_livy_magics.livy.models import (
    Advice,
    ContainerLogs,
    JobProgress,
    LogFile,
    ResourceUsage,
    SparkJob,
    SparkRun,
    SparkRunPage,
    SparkStage,
)

# "Lakehouse - List Livy Sessions" (Fabric REST reference), sample response as printed up to
# "runningDuration"; the fields after it are those of the LivySession definition in
# microsoft/fabric-rest-api-specs common/spark_definitions.json, with values of the same sample.
LIST_LIVY_SESSIONS_DOC = """
{
  "continuationToken": null,
  "continuationUri": null,
  "value": [
    {
      "sparkApplicationId": "application_1730933685452_0001",
      "state": "Cancelled",
      "livyId": "9611f500-bf44-42e0-a0de-78dacb374398",
      "origin": "SubmittedJob",
      "attemptNumber": 1,
      "maxNumberOfAttempts": 1,
      "livyName": "random_test_name_app",
      "submitter": {
        "id": "6f23a8a6-d954-4550-b91a-4df73ccd0311",
        "type": "User"
      },
      "item": {
        "workspaceId": "f8113ba8-dd81-443e-811a-b385340f3f05",
        "itemId": "8cee7699-2e81-4121-9a53-cc9025046193",
        "referenceType": "ById"
      },
      "itemName": "nb_itemName1",
      "itemType": "Notebook",
      "jobType": "SparkBatch",
      "submittedDateTime": "2025-01-31T15:32:03Z",
      "startDateTime": "2025-01-31T15:34:11Z",
      "endDateTime": "2025-01-31T15:37:30Z",
      "queuedDuration": {
        "value": 1,
        "timeUnit": "Seconds"
      },
      "runningDuration": {
        "value": 180,
        "timeUnit": "Seconds"
      },
      "totalDuration": {"value": 181, "timeUnit": "Seconds"},
      "isHighConcurrency": false,
      "cancellationReason": "User cancelled the Spark batch",
      "runtimeVersion": "1.3"
    }
  ]
}
"""

# "Spark open-source metrics APIs" (docs/data-engineering/open-source-apis.md), sample response 1.
JOB_DOC = """
{
    "jobId": 1,
    "name": "save at <console>:38",
    "description": "Accelerate the processing of subsequent queries",
    "submissionTime": "2025-03-19T07:33:40.386GMT",
    "completionTime": "2025-03-19T07:33:46.102GMT",
    "stageIds": [
                    1,
                    2
                ],
    "jobGroup": "SystemJob",
    "jobTags": [],
    "status": "SUCCEEDED",
    "numTasks": 4,
    "numActiveTasks": 0,
    "numCompletedTasks": 1,
    "numSkippedTasks": 3,
    "numFailedTasks": 0,
    "numKilledTasks": 0,
    "numCompletedIndices": 1,
    "numActiveStages": 0,
    "numCompletedStages": 1,
    "numSkippedStages": 1,
    "numFailedStages": 0,
    "killedTasksSummary": {}
}
"""

# "Livy log" (docs/data-engineering/livy-log.md), metadata sample.
LIVY_LOG_META_DOC = """
{
   "fileName": "livy.log",
   "length": 34723,
   "lastModified": "2025-03-05T12:11:17.000GMT",
   "creationTime": "2025-03-05T12:10:42.000GMT",
   "metaData": {}
}
"""

# "Driver log" (docs/data-engineering/driver-log.md), metadata sample. The page prints no comma
# after "nodeId"'s value; it is added here, the only change.
DRIVER_LOG_META_DOC = """
{
   "containerId": "container_1741176604085_0001_01_000001",
   "nodeId": "vm-76895939:44851",
   "containerLogMeta": {
      "fileName": "stderr",
      "length": 99067,
      "lastModified": "2025-03-05T12:31:31.000GMT",
      "creationTime": "2025-03-05T10:30:30.000GMT",
      "metaData": {}
   }
}
"""

# "Executor log" (docs/data-engineering/executor-log.md), metadata sample: note fileSize (a
# string) and lastModifiedTime instead of length and lastModified.
EXECUTOR_LOG_META_DOC = """
[
      {
         "containerId": "container_1724388946961_0001_01_000001",
         "nodeId": "vm-fa250420:38259",
         "containerLogMeta": [
            {
               "fileName": "stdout",
               "fileSize": "508",
               "lastModifiedTime": "Fri Aug 23 04:56:14 +0000 2024"
            },
            {
               "fileName": "stdout-active",
               "fileSize": "0",
               "lastModifiedTime": "Fri Aug 23 04:56:14 +0000 2024"
            }
      ]
   },
   {
         "containerId": "container_1724388946961_0001_01_000002",
         "nodeId": "vm-90240157:35195",
         "containerLogMeta": [
         {
            "fileName": "stdout",
            "fileSize": "508",
            "lastModifiedTime": "Fri Aug 23 04:56:45 +0000 2024"
         },
         {
            "fileName": "stdout-active",
            "fileSize": "0",
            "lastModifiedTime": "Fri Aug 23 04:56:47 +0000 2024"
         }
      ]
   }
]
"""

# "Spark advisor API" (docs/data-engineering/spark-advisor-api.md), "Get advice list" sample.
ADVICE_DOC = """
[
  {
    "id": 0,
    "name": "May return inconsistent results when using 'randomSplit'",
    "description": "Inconsistent or inaccurate results may be returned when working with the results of the 'randomSplit' method. Use Apache Spark (RDD) caching before using the 'randomSplit' method.",
    "helplink": "",
    "source": "user",
    "level": "info",
    "stageId": -1,
    "jobId": -1,
    "executionId": -1,
    "jobGroupId": "6",
    "executorId": ""
  }
]
"""

# "Resource usage APIs" (docs/data-engineering/resource-usage-apis.md), timeline sample. The page
# wraps the object in a second pair of braces, which is not JSON: the outer pair is removed.
RESOURCE_USAGE_DOC = """
  {
   "resourceUsageApiVersion" : 2,
   "duration" : 131903,
   "capacityExceeded" : false,
   "idleTime" : 120869,
   "coreEfficiency" : 0.08070419171664026,
   "data" : {
      "timestamps" : [ 1745906291774, 1745906292471, 1745906292731],
      "isPartials" : [ false, false, false ],
      "allocatedCores" : [ 8.0, 8.0, 8.0 ],
      "idleCores" : [ 0.0, 0.0, 1.0 ],
      "runningCores" : [ 8.0, 8.0, 7.0 ],
      "executors" : [ [ [ "1", 8.0, 12 ] ], [ [ "1", 8.0, 9 ] ], [ [ "1", 7.0, 7 ] ] ],
      "jobs" : [ [ [ 9, 12 ] ], [ [ 9, 9 ] ], [ [ 9, 7 ] ] ],
      "executorJobs" : [ [ [ "1", [ [ 9, 12 ] ] ] ], [ [ "1", [ [ 9, 9 ] ] ] ], [ [ "1", [ [ 9, 7 ] ] ] ] ]
    }
  }
"""

URL = "https://api.fabric.microsoft.com/v1/workspaces/w/lakehouses/l/livySessions"


def test_documented_list_of_livy_sessions_reads_as_runs():
    page = SparkRunPage.from_json(json.loads(LIST_LIVY_SESSIONS_DOC), URL)
    assert page.continuation_token is None
    (run,) = page.runs
    assert run.livy_id == "9611f500-bf44-42e0-a0de-78dacb374398"
    assert (run.name, run.state, run.app_id) == ("random_test_name_app", "Cancelled", "application_1730933685452_0001")
    assert run.is_batch and run.has_ended
    assert run.submitter == "6f23a8a6-d954-4550-b91a-4df73ccd0311"
    assert run.submitted_at == dt.datetime(2025, 1, 31, 15, 32, 3, tzinfo=dt.UTC)
    assert (run.queued_seconds, run.running_seconds, run.duration) == (1.0, 180.0, 181.0)
    assert run.cancellation_reason == "User cancelled the Spark batch"
    assert run.extra["origin"] == "SubmittedJob"  # unknown fields are kept


def test_run_without_total_duration_is_timed_from_start_to_end():
    run = SparkRun.from_json({"livyId": "x", "startDateTime": "2025-01-31T15:34:11Z",
                              "endDateTime": "2025-01-31T15:37:30Z", "state": "Succeeded"})
    assert run.duration == 199.0


def test_documented_spark_job_counts_skipped_work_as_done():
    job = SparkJob.from_json(json.loads(JOB_DOC), URL)
    assert (job.job_id, job.status, job.job_group, job.stage_ids) == (1, "SUCCEEDED", "SystemJob", (1, 2))
    assert job.submitted_at == dt.datetime(2025, 3, 19, 7, 33, 40, 386000, tzinfo=dt.UTC)
    progress = JobProgress.of([job])
    assert (progress.jobs_done, progress.jobs_total) == (1, 1)
    assert (progress.stages_done, progress.stages_total) == (2, 2)
    assert (progress.tasks_done, progress.tasks_total) == (4, 4)
    assert str(progress) == "jobs 1/1 · stages 2/2 · tasks 4/4" and progress.fraction == 1.0


def test_progress_of_no_jobs_has_no_fraction():
    assert JobProgress.of([]).fraction is None


def test_documented_log_metadata_of_each_kind():
    livy = LogFile.from_json(json.loads(LIVY_LOG_META_DOC), URL)
    assert (livy.file_name, livy.length, livy.created) == ("livy.log", 34723, "2025-03-05T12:10:42.000GMT")
    driver = ContainerLogs.from_json(json.loads(DRIVER_LOG_META_DOC), URL)
    assert driver.container_id == "container_1741176604085_0001_01_000001"
    assert [(f.file_name, f.length) for f in driver.files] == [("stderr", 99067)]
    executors = [ContainerLogs.from_json(item, URL) for item in json.loads(EXECUTOR_LOG_META_DOC)]
    assert [c.node_id for c in executors] == ["vm-fa250420:38259", "vm-90240157:35195"]
    assert [(f.file_name, f.length) for f in executors[0].files] == [("stdout", 508), ("stdout-active", 0)]
    assert executors[1].files[1].last_modified == "Fri Aug 23 04:56:47 +0000 2024"


def test_documented_advice_drops_ids_meaning_none():
    (advice,) = [Advice.from_json(item, URL) for item in json.loads(ADVICE_DOC)]
    assert advice.name == "May return inconsistent results when using 'randomSplit'"
    assert (advice.level, advice.source, advice.job_group_id) == ("info", "user", "6")
    assert advice.stage_id is advice.job_id is advice.execution_id is advice.executor_id is advice.help_link is None


def test_documented_resource_usage_timeline():
    usage = ResourceUsage.from_json(json.loads(RESOURCE_USAGE_DOC), URL)
    assert (usage.duration_ms, usage.idle_time_ms, usage.capacity_exceeded) == (131903, 120869, False)
    assert usage.core_efficiency == pytest.approx(0.0807, abs=1e-4)
    assert usage.timestamps == (1745906291774, 1745906292471, 1745906292731)
    assert usage.running_cores == (8.0, 8.0, 7.0) and usage.idle_cores == (0.0, 0.0, 1.0)


@pytest.mark.parametrize(("model", "data", "field"), [
    (SparkRun, {"state": "Succeeded"}, "livyId"),
    (SparkJob, {"status": "RUNNING"}, "jobId"),
    (SparkStage, {"name": "collect"}, "stageId"),
    (LogFile, {"length": 3}, "fileName"),
    (ContainerLogs, {"containerId": "c"}, "containerLogMeta"),
    (Advice, {"id": 1}, "name"),
])
def test_an_object_without_its_id_is_malformed_naming_the_url(model, data, field):
    with pytest.raises(MalformedResponse, match=rf"{URL}.*'{field}'"):
        model.from_json(data, URL)


def test_a_list_where_a_page_is_expected_is_malformed_naming_the_url():
    with pytest.raises(MalformedResponse, match=URL):
        SparkRunPage.from_json([], URL)
    with pytest.raises(MalformedResponse, match=URL):
        SparkRunPage.from_json({"value": {"livyId": "x"}}, URL)
