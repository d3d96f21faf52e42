"""Sessions and batches keep Spark's files (warehouse, Derby) out of the server's working directory."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from server_api import Api

from fabric_livy_magics.server.launcher import start_server

JOB = """\
from pyspark.sql import SparkSession

spark = SparkSession.builder.getOrCreate()
spark.sql("create table from_batch as select 1 as x")
print("WAREHOUSE=" + spark.conf.get("spark.sql.warehouse.dir"))
spark.stop()
"""


def _path(uri: str) -> Path:
    return Path(urlsplit(uri).path if uri.startswith("file:") else uri)


def _warehouse(api: Api, session: int, create: str) -> Path:
    result = api.run(session, f'spark.sql("create table {create} as select 1 as x"); spark.conf.get("spark.sql.warehouse.dir")')
    assert result["output"]["status"] == "ok", result["output"]
    return _path(result["output"]["data"]["text/plain"].strip("'\""))


def _wait_batch(api: Api, batch: int, timeout: float = 180) -> str:
    return api.wait(f"/batches/{batch}/state", {"success", "dead", "killed", "error"}, timeout, interval=0.2)["state"]


def test_tables_go_to_a_private_directory_removed_on_shutdown_unless_configured(tmp_path: Path) -> None:
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    (cwd / "job.py").write_text(JOB)
    mine = tmp_path / "my-warehouse"
    server = start_server(port=0, master="local[1]", log_path=tmp_path / "server.log", cwd=cwd)
    try:
        api = Api(server.url)
        session = api.post("/sessions", json={"kind": "pyspark"}).json()["id"]
        configured = api.post("/sessions", json={"kind": "pyspark", "conf": {"spark.sql.warehouse.dir": str(mine)}}).json()["id"]
        batch = api.post("/batches", json={"file": str(cwd / "job.py")}).json()["id"]
        api.wait_session(session, {"idle"})
        private = _warehouse(api, session, "t")
        assert (private / "t").is_dir(), private
        assert not private.is_relative_to(cwd)
        api.wait_session(configured, {"idle"})
        assert _warehouse(api, configured, "u") == mine
        assert (mine / "u").is_dir()
        assert _wait_batch(api, batch) == "success", api.get(f"/batches/{batch}/log", params={"size": 50}).json()["log"]
        log = api.get(f"/batches/{batch}/log", params={"size": 1000}).json()["log"]
        batch_warehouse = _path(next(line for line in log if line.startswith("WAREHOUSE=")).split("=", 1)[1])
        assert (batch_warehouse / "from_batch").is_dir()
        assert batch_warehouse.parent.parent == private.parent.parent  # one directory for the whole server
        assert sorted(p.name for p in cwd.iterdir()) == ["job.py"]  # no spark-warehouse, metastore_db, derby.log
    finally:
        server.stop()
    assert not private.parent.parent.exists(), "the server's private directory outlived it"
    assert (mine / "u").is_dir(), "a warehouse the user chose is theirs to keep"
