"""Request bodies for starting Spark work: interactive sessions and batch jobs.

Sessions (``POST sessions`` / ``POST highConcurrencySessions``) and batches (``POST batches``)
take the same Spark settings (conf, a Fabric Environment, driver/executor sizes, tags), so they
are turned into JSON fields here once. No I/O.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field, fields, replace
from typing import Any, Mapping, TypedDict

from fabric_livy_magics.livy.endpoints import Endpoint, FabricEndpoint
from fabric_livy_magics.errors import ConfigurationError

__all__ = ["ENVIRONMENT_CONF_KEY", "SLOW_START_CONF_KEYS", "ResourceOptions", "SparkResources",
           "session_body", "spark_conf", "tags_field"]

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


class ResourceOptions(TypedDict, total=False):
    """The keyword form of :class:`SparkResources` (``create_session(name=..., conf=...)``)."""

    name: str | None
    conf: Mapping[str, Any] | None
    environment_id: str | None
    driver_memory: str | None
    driver_cores: int | None
    executor_memory: str | None
    executor_cores: int | None
    num_executors: int | None
    tags: Mapping[str, str] | None
    extra: Mapping[str, Any] | None


@dataclass(frozen=True)
class SparkResources:
    """What sessions and batches are started with, once for both: name, Spark conf, a Fabric
    Environment, driver/executor sizes, Fabric tags, and raw ``extra`` request fields (e.g.
    Livy's ``proxyUser``, ``jars``, ``ttl``)."""

    name: str | None = None
    conf: Mapping[str, Any] | None = None
    environment_id: str | None = None
    driver_memory: str | None = None
    driver_cores: int | None = None
    executor_memory: str | None = None
    executor_cores: int | None = None
    num_executors: int | None = None
    tags: Mapping[str, str] | None = None
    extra: Mapping[str, Any] | None = field(default=None)

    @classmethod
    def of(cls, resources: SparkResources | None = None, **options: Any) -> SparkResources:
        """``resources`` (default: none) with the keyword ``options`` given (not None) on top."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise TypeError(f"unknown Spark resource option(s): {', '.join(unknown)}")
        given = {key: value for key, value in options.items() if value is not None}
        return replace(resources or cls(), **given)

    def sizing(self) -> dict[str, Any]:
        """Livy's driver/executor sizing fields, only those given."""
        pairs = (("driverMemory", self.driver_memory), ("driverCores", self.driver_cores),
                 ("executorMemory", self.executor_memory), ("executorCores", self.executor_cores),
                 ("numExecutors", self.num_executors))
        return {key: value for key, value in pairs if value is not None}

    def request_fields(self, endpoint: Endpoint, what: str, *,
                       also_conf: Mapping[str, str] | None = None) -> dict[str, Any]:
        """The JSON fields of a session or batch request for these resources."""
        body: dict[str, Any] = {}
        if self.name is not None:
            body["name"] = self.name
        conf_out = spark_conf(self.conf, environment_id=self.environment_id, also=also_conf)
        if conf_out:
            body["conf"] = conf_out
        body.update(tags_field(endpoint, self.tags, what))
        body.update(self.sizing())
        body.update(self.extra or {})
        return body


def tags_field(endpoint: Endpoint, tags: Mapping[str, str] | None, what: str) -> dict[str, Any]:
    """``{"tags": ...}`` for Fabric; Apache Livy has no tags, so asking for them is an error."""
    if not tags:
        return {}
    if not isinstance(endpoint, FabricEndpoint):
        raise ConfigurationError(f"Apache Livy {what} take no tags; remove the tags option.")
    return {"tags": {str(k): str(v) for k, v in tags.items()}}


def session_body(endpoint: Endpoint, resources: SparkResources, *, kind: str | None) -> dict[str, Any]:
    """The body of ``POST sessions`` and of ``POST highConcurrencySessions`` (no ``kind``)."""
    fabric = isinstance(endpoint, FabricEndpoint)
    if fabric:
        for key in SLOW_START_CONF_KEYS & set(resources.conf or {}):
            log.warning("Setting %s moves the session off Fabric's starter pool: expect about "
                        "3 minutes to start instead of about 40 s.", key)
    body: dict[str, Any] = {}
    if kind is not None and not fabric:  # Fabric sessions take no kind; statements carry it
        body["kind"] = str(kind).lower()
    body.update(resources.request_fields(endpoint, "sessions"))
    return body
