"""The lakehouse library over the local server's Fabric shape (GUID sessions, kind-less sessions,
statements that carry their kind): the same calls the magics make, without IPython."""

from __future__ import annotations

import decimal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from fabric_livy_magics.livy import lakehouse
from fabric_livy_magics.livy.client import LivyClient
from fabric_livy_magics.livy.endpoints import FabricEndpoint
from fabric_livy_magics.livy.lifecycle import ManagedSession
from fabric_livy_magics.livy.targets import SessionOptions

pytestmark = pytest.mark.timeout(300)

WS = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
LH = "4d3c2b1a-0f9e-4d8c-b7a6-5f4e3d2c1b0a"


@pytest.fixture(scope="module")
def run(livy_server: Any) -> Iterator[Any]:
    with LivyClient(FabricEndpoint(WS, LH, base_url=livy_server.url), timeout=(5, 60)) as client:
        session = ManagedSession(client, SessionOptions(name="lakehouse-fabric", conf={"spark.ui.enabled": "false"}),
                                 keepalive_interval=0)
        try:
            yield session.run_text
        finally:
            session.close()


def test_tables_write_read_sql_and_modules_on_the_fabric_shape(run: Any, tmp_path: Path) -> None:
    frame = pd.DataFrame({"id": [1, 2, 3], "price": [decimal.Decimal("9.99"), None, decimal.Decimal("0.01")]})
    result = lakehouse.write_table(run, frame, "fab_prices", mode="overwrite")
    assert (result.rows, result.table) == (3, "fab_prices")

    listing = lakehouse.list_tables(run, like="fab_*").frame
    assert listing["table"].tolist() == ["fab_prices"] and listing["type"].tolist() == ["MANAGED"]
    described = lakehouse.describe_table(run, "fab_prices", count=True)
    assert described.row_count == 3 and described.columns["type"].tolist() == ["bigint", "decimal(3,2)"]

    back = lakehouse.read_table(run, "fab_prices", where="price IS NOT NULL", maxrows=None).frame
    assert sorted(back["id"].tolist()) == [1, 3]

    prepared = lakehouse.prepare_sql("SELECT id FROM fab_prices WHERE price > :floor ORDER BY id",
                                     {"floor": decimal.Decimal("0.5")})
    assert lakehouse.fetch_sql(run, prepared, maxrows=10).frame["id"].tolist() == [1]

    assert "fab_prices" in lakehouse.catalog_tables(run)
    assert lakehouse.catalog_columns(run, ["fab_prices", "no_such"]) == {"fab_prices": ["id", "price"], "no_such": None}

    (tmp_path / "fab_util.py").write_text("def triple(x):\n    return 3 * x\n")
    sent = lakehouse.send_module(run, str(tmp_path / "fab_util.py"))
    assert sent.modules == ("fab_util",) and not sent.replaced
    assert run("import fab_util\nprint(fab_util.triple(14))").strip() == "42"
