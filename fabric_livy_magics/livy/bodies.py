"""Request bodies for starting Spark work: interactive sessions and batch jobs.

Sessions (``POST sessions`` / ``POST highConcurrencySessions``) and batches (``POST batches``)
take the same Spark settings (conf, a Fabric Environment, driver/executor sizes, tags), so they
are turned into JSON fields here once. No I/O.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Mapping

from fabric_livy_magics.livy.endpoints import Endpoint, FabricEndpoint
from fabric_livy_magics.errors import ConfigurationError

__all__ = ["ENVIRONMENT_CONF_KEY", "SLOW_START_CONF_KEYS", "session_body", "spark_conf",
           "resource_fields", "tags_field"]

log = logging.getLogger(__name__)

#: Fabric: run the session in a Fabric Environment (libraries, Spark settings).
ENVIRONMENT_CONF_KEY = "spark.fabric.environmentDetails"
#: Fabric: these settings move a session off the starter pool (~3 min start instead of ~40 s).
SLOW_START_CONF_KEYS = frozenset({"spark.livy.session.idle.timeout"})


def spark_conf(conf: Mapping[str, Any] | None, *, environment_id: str | None = None,
               also: Mapping[str, str] | None = None) -> dict[str, str]:
    """``conf`` as a string map, then the ``also`` entries, then the Fabric Environment, if any.

    Fabric's conf is a string map; Livy accepts any JSON but strings are what Spark gets."""
    conf_out = {str(key): value if isinstance(value, str) else json.dumps(value)
                for key, value in (conf or {}).items()}
    conf_out.update(also or {})
    if environment_id:
        conf_out[ENVIRONMENT_CONF_KEY] = json.dumps({"id": str(environment_id)})
    return conf_out


def resource_fields(*, driver_memory: str | None, driver_cores: int | None,
                    executor_memory: str | None, executor_cores: int | None,
                    num_executors: int | None) -> dict[str, Any]:
    """Livy's driver/executor sizing fields, only those given."""
    fields = (("driverMemory", driver_memory), ("driverCores", driver_cores),
              ("executorMemory", executor_memory), ("executorCores", executor_cores),
              ("numExecutors", num_executors))
    return {key: value for key, value in fields if value is not None}


def tags_field(endpoint: Endpoint, tags: Mapping[str, str] | None, what: str) -> dict[str, Any]:
    """``{"tags": ...}`` for Fabric; Apache Livy has no tags, so asking for them is an error."""
    if not tags:
        return {}
    if not isinstance(endpoint, FabricEndpoint):
        raise ConfigurationError(f"Apache Livy {what} take no tags; remove the tags option.")
    return {"tags": {str(k): str(v) for k, v in tags.items()}}


def session_body(endpoint: Endpoint, *, name: str | None, kind: str | None,
                 conf: Mapping[str, Any] | None, environment_id: str | None,
                 driver_memory: str | None, driver_cores: int | None,
                 executor_memory: str | None, executor_cores: int | None,
                 num_executors: int | None, tags: Mapping[str, str] | None,
                 extra: Mapping[str, Any] | None) -> dict[str, Any]:
    """The body of ``POST sessions`` and of ``POST highConcurrencySessions`` (no ``kind``)."""
    fabric = isinstance(endpoint, FabricEndpoint)
    conf_out = spark_conf(conf, environment_id=environment_id)
    if fabric:
        for key in SLOW_START_CONF_KEYS & set(conf_out):
            log.warning("Setting %s moves the session off Fabric's starter pool: expect about "
                        "3 minutes to start instead of about 40 s.", key)
    body: dict[str, Any] = {}
    if name is not None:
        body["name"] = name
    if kind is not None and not fabric:  # Fabric sessions take no kind; statements carry it
        body["kind"] = str(kind).lower()
    if conf_out:
        body["conf"] = conf_out
    body.update(tags_field(endpoint, tags, "sessions"))
    body.update(resource_fields(
        driver_memory=driver_memory, driver_cores=driver_cores, executor_memory=executor_memory,
        executor_cores=executor_cores, num_executors=num_executors))
    body.update(extra or {})
    return body
