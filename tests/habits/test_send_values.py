"""``%livy send`` of plain values: they arrive as the same Python value, text never becomes code,
and what JSON cannot hold is refused locally in one line. Through a real shell, one shared session."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output


pytestmark = pytest.mark.timeout(300)

TRICKY = 'x"""\nimport os; os._exit(1)\n\'\'\' \\ {0} %s é \u2603 \x00'


def _remote(shell: Any, code: str) -> str:
    with capture_output() as cap:
        shell.run_cell_magic("livy", "", code)
    return cap.stdout.strip()


@pytest.mark.parametrize(("value", "expected"), [
    (42, "int 42"),
    (2.5, "float 2.5"),
    (True, "bool True"),
    (None, "NoneType None"),
    ("2024-01-01", "str '2024-01-01'"),
    ([1, "a", [None, 2.0]], "list [1, 'a', [None, 2.0]]"),
    ({"region": "EU", "limits": {"max": 10}}, "dict {'region': 'EU', 'limits': {'max': 10}}"),
    (np.int64(7), "int 7"),
])
def test_values_arrive_as_the_same_python_value(shell: Any, notebook: Any, value: Any, expected: str) -> None:
    shell.user_ns["local_value"] = value
    with capture_output() as cap:
        shell.run_line_magic("livy", "send local_value --as remote_value")
    assert "Sent local_value as remote" in cap.stdout
    assert _remote(shell, "print(type(remote_value).__name__, repr(remote_value))") == expected


def test_text_is_data_never_code(shell: Any, notebook: Any) -> None:
    shell.user_ns["tricky"] = TRICKY
    with capture_output():
        shell.run_line_magic("livy", "send tricky")
    assert _remote(shell, "print(repr(tricky == " + repr(TRICKY) + "), len(tricky))") == f"True {len(TRICKY)}"


@pytest.mark.parametrize(("value", "says"), [
    ({1, 2}, "local_bad is a set"),
    ({1: "a"}, "only text keys"),
    ([1, float("nan")], "local_bad[1] is nan"),
    ({"when": __import__("datetime").date(2024, 1, 1)}, "local_bad['when'] is a date"),
])
def test_what_json_cannot_hold_is_refused_before_any_call(shell: Any, notebook: Any, server_client: Any,
                                                         value: Any, says: str) -> None:
    session = notebook.get_session()
    session.ensure()
    before = len(server_client.list_statements(session.session_id))
    shell.user_ns["local_bad"] = value
    with pytest.raises(UsageError, match=None) as caught:
        shell.run_line_magic("livy", "send local_bad")
    assert says in str(caught.value) and "\n" not in str(caught.value)
    assert len(server_client.list_statements(session.session_id)) == before


def test_dataframes_still_go_as_spark_dataframes(shell: Any, notebook: Any) -> None:
    import pandas as pd

    shell.user_ns["small"] = pd.DataFrame({"n": [1, 2, 3]})
    with capture_output() as cap:
        shell.run_line_magic("livy", "send small")
    assert "remote DataFrame small: 3 rows" in cap.stdout
    assert _remote(shell, "print(type(small).__name__, small.count())") == "DataFrame 3"
