"""%%livy and %livy through a real IPython shell against the local server in Livy shape.

One remote session is shared by the module (created lazily by the first cell that needs it).
"""

from __future__ import annotations

import ctypes
import datetime
import decimal
import threading
import time
from typing import Any

import pandas as pd
import psutil
import pytest
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output
from magics_helpers import notebook, reload_extension

from fabric_livy_magics.errors import (
    LivyHTTPError,
    LivyTimeout,
    SessionDead,
    SessionNotFound,
    StatementCancelled,
    StatementFailed,
)
from fabric_livy_magics.livy.models import SessionState, StatementState

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def connected(shell: Any, livy_server: Any, server_client: Any) -> Any:
    """Connect to the server's Livy shape; the module's tests share the session it starts."""
    reload_extension(shell)
    shell.run_line_magic("livy", f"connect --url {livy_server.url} --name magics-livy")
    yield notebook(shell)
    reload_extension(shell)


@pytest.fixture()
def session_id(shell: Any, connected: Any) -> Any:
    """The module's session id, starting it if no test has yet."""
    connected.get_session().ensure()
    return connected.session.session_id


def _live_ids(client: Any) -> set[Any]:
    return {s.id for s in client.iter_sessions() if not s.has_failed}


def _statement_count(client: Any, session_id: Any) -> int:
    return len(client.list_statements(session_id))


def test_no_session_before_first_cell_then_one(shell: Any, connected: Any, server_client: Any) -> None:
    before = _live_ids(server_client)
    assert connected.session is None or not connected.session.started
    with capture_output() as cap:
        shell.run_line_magic("livy", "status")
    assert "No session yet" in cap.stdout
    assert _live_ids(server_client) == before  # status made no session

    with capture_output() as cap:
        shell.run_cell_magic("livy", "", "print('hello from spark')\nspark.range(3).count()")
    assert cap.stdout == "hello from spark\n3\n"
    created = _live_ids(server_client) - before
    assert created == {connected.session.session_id}


def test_text_output_is_printed_as_the_remote_printed_it(shell: Any, session_id: Any) -> None:
    with capture_output() as cap:
        shell.run_cell_magic("livy", "", "for i in range(3):\n    print(f'  line {i}  ')")
    assert cap.stdout == "  line 0  \n  line 1  \n  line 2\n"  # Livy right-strips the output


def test_table_magic_becomes_a_typed_dataframe(shell: Any, session_id: Any) -> None:
    code = ("rows = [(1, 'a', 1.5, True), (2, 'b', None, False)]\n"
            "df_t = spark.createDataFrame(rows, 'id long, name string, x double, ok boolean')\n"
            "%table df_t")
    with capture_output() as cap:
        shell.run_cell_magic("livy", "", code)
    assert len(cap.outputs) == 1
    data = cap.outputs[0].data
    assert "text/html" in data and "name" in data["text/plain"]

    statement = notebook(shell).session.run(code, "pyspark", quiet=True)
    from fabric_livy_magics.notebook.display import TableItem, render_output

    [item] = render_output(statement.output, maxrows=10)
    assert isinstance(item, TableItem)
    frame = item.frame
    assert list(frame.columns) == ["id", "name", "x", "ok"]
    assert str(frame["id"].dtype) == "int64" and frame["x"].isna().tolist() == [False, True]
    assert frame["ok"].tolist() == [True, False]


def test_json_tabular_is_a_table_and_other_json_is_pretty(shell: Any, session_id: Any) -> None:
    with capture_output() as cap:
        shell.run_cell_magic("livy", "", "%json [{'a': 1, 'b': 'x'}, {'a': 2, 'b': 'y'}]")
    assert "text/html" in cap.outputs[0].data  # a DataFrame
    with capture_output() as cap:
        shell.run_cell_magic("livy", "", "%json {'nested': {'k': [1, 2]}, 'n': None}")
    bundle = cap.outputs[0].data
    assert bundle["application/json"] == {"nested": {"k": [1, 2]}, "n": None}
    assert '"nested": {' in bundle["text/plain"]


def test_matplot_shows_an_image(shell: Any, session_id: Any) -> None:
    code = ("import matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\n"
            "plt.figure(figsize=(2, 2)); plt.plot([1, 2, 3])\n%matplot plt")
    with capture_output() as cap:
        shell.run_cell_magic("livy", "", code)
    images = [o for o in cap.outputs if "image/png" in o.data]
    assert len(images) == 1
    png = images[0].data["image/png"]
    raw = png if isinstance(png, bytes) else __import__("base64").b64decode(png)
    assert raw[:8] == b"\x89PNG\r\n\x1a\n"


def test_sql_cells_render_typed_tables(shell: Any, session_id: Any) -> None:
    shell.run_cell_magic("livy", "-q", (
        "spark.createDataFrame([(1, 'a', 2.5), (2, None, None)], 'k int, s string, v double')"
        ".createOrReplaceTempView('magic_t')"))
    with capture_output() as cap:
        shell.run_cell_magic("livy", "-l sql", "select * from magic_t order by k")
    assert "text/html" in cap.outputs[0].data
    with capture_output() as cap:
        shell.run_cell_magic("livy_sql", "", "select k, s from magic_t order by k")
    text = cap.outputs[0].data["text/plain"]
    assert "k" in text and "a" in text

    from fabric_livy_magics.notebook.display import render_output

    statement = notebook(shell).session.run("select * from magic_t order by k", "sql", quiet=True)
    [item] = render_output(statement.output, maxrows=100)
    assert str(item.frame["k"].dtype) == "int32"
    assert item.frame["s"].tolist()[0] == "a" and pd.isna(item.frame["s"].tolist()[1])


def test_sql_output_lands_in_the_namespace_with_exact_types(shell: Any, session_id: Any) -> None:
    shell.run_cell_magic("livy_sql", "-o sql_out -q", (
        "select cast(1 as bigint) as id, cast('12345678901234567890.123456789012345678' as "
        "decimal(38,18)) as d, timestamp'2024-03-01 12:34:56.123456' as ts"))
    frame = shell.user_ns["sql_out"]
    assert frame["d"][0] == decimal.Decimal("12345678901234567890.123456789012345678")
    assert str(frame["ts"].dtype) == "datetime64[us, UTC]"
    assert str(frame["id"].dtype) == "int64"


ALL_TYPES_CODE = """
import datetime, decimal
from pyspark.sql import Row
from pyspark.sql.types import *
schema = StructType([
    StructField('i8', ByteType()), StructField('i16', ShortType()), StructField('i32', IntegerType()),
    StructField('i64', LongType()), StructField('f32', FloatType()), StructField('f64', DoubleType()),
    StructField('flag', BooleanType()), StructField('s', StringType()),
    StructField('ts', TimestampType()), StructField('day', DateType()),
    StructField('dec', DecimalType(38, 10)), StructField('nullable_int', IntegerType()),
    StructField('st', StructType([StructField('a', IntegerType()), StructField('b', StringType())])),
    StructField('arr', ArrayType(LongType())),
])
all_types = spark.createDataFrame([
    (1, 2, 3, 2**40, 1.5, 2.25, True, 'héllo', datetime.datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=datetime.timezone.utc),
     datetime.date(2024, 2, 29), decimal.Decimal('1234567890123456789012345678.0123456789'), None, Row(a=1, b='x'), [1, 2]),
    (-1, -2, -3, -2**40, -0.5, None, False, None, None, None, None, 7, None, []),
], schema)
"""


def test_output_round_trips_every_dtype(shell: Any, session_id: Any) -> None:
    shell.run_cell_magic("livy", "-o all_types -q", ALL_TYPES_CODE)
    frame = shell.user_ns["all_types"]
    assert list(frame.columns) == ["i8", "i16", "i32", "i64", "f32", "f64", "flag", "s", "ts", "day",
                                   "dec", "nullable_int", "st", "arr"]
    dtypes = {c: str(t) for c, t in frame.dtypes.items()}
    assert dtypes["i8"] == "int8" and dtypes["i16"] == "int16" and dtypes["i32"] == "int32"
    assert dtypes["i64"] == "int64" and dtypes["f32"] == "float32" and dtypes["f64"] == "float64"
    assert dtypes["flag"] == "bool" and dtypes["nullable_int"] == "Int32"
    assert dtypes["ts"] == "datetime64[us, UTC]"
    assert frame["i64"].tolist() == [2**40, -2**40]
    assert frame["s"][0] == "héllo" and pd.isna(frame["s"][1])
    assert frame["ts"][0] == pd.Timestamp("2024-01-02 03:04:05.678901", tz="UTC")
    assert pd.isna(frame["ts"][1])
    assert frame["day"][0] == datetime.date(2024, 2, 29) and frame["day"][1] is None
    assert frame["dec"][0] == decimal.Decimal("1234567890123456789012345678.0123456789")
    assert frame["nullable_int"].isna().tolist() == [True, False]
    assert frame["st"][0] == {"a": 1, "b": "x"} and frame["st"][1] is None
    assert frame["arr"].tolist() == [[1, 2], []]
    assert pd.isna(frame["f64"][1])


def test_maxrows_truncates_with_a_visible_note(shell: Any, session_id: Any) -> None:
    with capture_output() as cap:
        shell.run_cell_magic("livy", "-o big -n 5", "big = spark.range(20)\n%table big")
    assert len(shell.user_ns["big"]) == 5
    assert "Showing the first 5 of" in cap.stdout  # the %table cut
    assert "big: Showing the first 5 rows" in cap.stdout  # the -o cut
    with capture_output() as cap:
        shell.run_cell_magic("livy", "-o big -n -1 -q", "big = spark.range(20)")
    assert len(shell.user_ns["big"]) == 20 and cap.stdout == "" and not cap.outputs


def test_maxrows_trait_and_config(shell: Any, session_id: Any) -> None:
    shell.run_line_magic("config", "LivyMagics.maxrows = 3")
    try:
        shell.run_cell_magic("livy", "-o small -q", "small = spark.range(10)")
        assert len(shell.user_ns["small"]) == 3
        shell.run_cell_magic("livy", "-o small -q -n 4", "small = spark.range(10)")
        assert len(shell.user_ns["small"]) == 4  # the option beats %config
    finally:
        shell.run_line_magic("config", "LivyMagics.maxrows = 2500")


def test_remote_error_shows_traceback_and_stops_run_all(shell: Any, session_id: Any) -> None:
    with pytest.raises(StatementFailed) as info:
        shell.run_cell_magic("livy", "", "def f():\n    return 1 / 0\nf()")
    rendered = "\n".join(info.value._render_traceback_())
    assert "ZeroDivisionError: division by zero" in rendered and "line 2, in f" in rendered
    assert "fabric_livy_magics" not in rendered  # the remote traceback, not ours

    result = shell.run_cell("%%livy\nraise ValueError('boom')")
    assert isinstance(result.error_in_exec, StatementFailed)
    assert result.error_in_exec.ename == "ValueError" and not result.success


def test_failed_cell_output_does_not_leak_into_next(shell: Any, session_id: Any) -> None:
    shell.run_cell("%%livy\nprint('before failure')\nraise KeyError('x')")
    with capture_output() as cap:
        shell.run_cell_magic("livy", "", "print('clean')")
    assert cap.stdout == "clean\n"


def _raise_in_main_thread_when_running(client: Any, session_id: Any, main_ident: int,
                                       found: dict[str, Any]) -> threading.Thread:
    def watch() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            running = [s for s in client.list_statements(session_id) if s.state is StatementState.RUNNING]
            if running:
                found["id"] = running[-1].id
                time.sleep(0.3)
                ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(main_ident),
                                                           ctypes.py_object(KeyboardInterrupt))
                return
            time.sleep(0.05)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_interrupt_cancels_remote_statement(shell: Any, session_id: Any, server_client: Any) -> None:
    found: dict[str, Any] = {}
    thread = _raise_in_main_thread_when_running(server_client, session_id, threading.main_thread().ident, found)
    started = time.monotonic()
    with pytest.raises(StatementCancelled):
        shell.run_cell_magic("livy", "", "import time\nfor _ in range(600):\n    time.sleep(0.05)")
    thread.join(timeout=5)
    assert time.monotonic() - started < 20
    statement = server_client.get_statement(session_id, found["id"])
    assert statement.state in (StatementState.CANCELLED, StatementState.CANCELLING)
    with capture_output() as cap:  # the session still works
        shell.run_cell_magic("livy", "", "print('alive')")
    assert cap.stdout == "alive\n"


def test_timeout_leaves_statement_running_and_cancel_stops_it(shell: Any, session_id: Any,
                                                              server_client: Any) -> None:
    with pytest.raises(LivyTimeout, match="livy cancel"):
        shell.run_cell_magic("livy", "--timeout 0.5", "import time\ntime.sleep(20)")
    last = notebook(shell).session._last_statement
    with capture_output() as cap:
        shell.run_line_magic("livy", "cancel")
    assert f"Statement {last} cancelled." in cap.stdout
    deadline = time.monotonic() + 15
    while server_client.get_statement(session_id, last).state is not StatementState.CANCELLED:
        assert time.monotonic() < deadline
        time.sleep(0.1)


@pytest.mark.parametrize("kind, line", [
    ("livy", "--bogus"), ("livy", "-l python"), ("livy", "-n many"), ("livy", "-o 1bad"),
    ("livy", "-n -5"), ("livy", "--timeout 0"), ("livy_sql", "-x"),
])
def test_bad_cell_options_raise_usage_error_and_call_nothing(shell: Any, session_id: Any, server_client: Any,
                                                             kind: str, line: str) -> None:
    sessions_before = _live_ids(server_client)
    statements_before = _statement_count(server_client, session_id)
    with pytest.raises(UsageError) as info:
        shell.run_cell_magic(kind, line, "print(1)")
    assert type(info.value) is UsageError and "\n" not in str(info.value)
    assert _statement_count(server_client, session_id) == statements_before
    assert _live_ids(server_client) == sessions_before


@pytest.mark.parametrize("line", [
    "connect --url", "connect --url http://a --local", "connect --tag x", "connect --kind python",
    "connect --conf nokey", "connect --auth carrier-pigeon", "logs -n 0", "logs -n x", "attach",
    "attach notanumber", "sessions extra", "send", "send no_such_frame", "frobnicate",
    "connect --url http://127.0.0.1:1 --client-secret abc", "connect --url http://u:p@127.0.0.1:1",
    "connect --conf spark.hadoop.fs.azure.account.key.x=abc".replace(".key.", ".token."),
])
def test_bad_line_options_raise_usage_error_and_call_nothing(shell: Any, session_id: Any, server_client: Any,
                                                             line: str) -> None:
    state = notebook(shell)
    sessions_before = _live_ids(server_client)
    statements_before = _statement_count(server_client, session_id)
    target_before = state.target
    with pytest.raises(UsageError) as info:
        shell.run_line_magic("livy", line)
    assert type(info.value) is UsageError and "\n" not in str(info.value)
    assert _statement_count(server_client, session_id) == statements_before
    assert _live_ids(server_client) == sessions_before
    assert state.target is target_before and state.session.session_id == session_id


def test_secret_option_is_refused_with_advice(shell: Any, session_id: Any) -> None:
    with pytest.raises(UsageError, match="Secrets are not accepted"):
        shell.run_line_magic("livy", "login --client-secret hunter2")
    with pytest.raises(UsageError, match="Secrets are not accepted"):
        shell.run_cell_magic("livy", "--token abc", "1")


def test_send_round_trip(shell: Any, session_id: Any) -> None:
    local = pd.DataFrame({
        "n": [1, 2, 3], "x": [0.5, None, 2.0], "s": ["a", None, "c"],
        "when": pd.to_datetime(["2024-01-01 00:00:01", "2024-06-30 12:00:00", None], utc=True),
        "d": [decimal.Decimal("1.10"), None, decimal.Decimal("-3.25")],
    })
    shell.user_ns["local_df"] = local
    with capture_output() as cap:
        shell.run_line_magic("livy", "send local_df --as sent_df")
    assert "Sent local_df as remote DataFrame sent_df: 3 rows" in cap.stdout
    with capture_output() as cap:
        shell.run_cell_magic("livy", "", "print(sent_df.count(), sent_df.schema.simpleString())")
    assert cap.stdout.startswith("3 struct<n:bigint,x:double,s:string,when:timestamp,d:decimal")
    shell.run_cell_magic("livy", "-o sent_df -q", "sent_df")
    back = shell.user_ns["sent_df"]
    assert back["n"].tolist() == [1, 2, 3]
    assert back["s"].tolist()[0] == "a" and pd.isna(back["s"][1])
    assert back["when"][1] == pd.Timestamp("2024-06-30 12:00:00", tz="UTC")
    assert back["d"][0] == decimal.Decimal("1.10") and back["d"][1] is None


def test_info_status_logs_sessions(shell: Any, session_id: Any, livy_server: Any) -> None:
    with capture_output() as cap:
        shell.run_line_magic("livy", "info")
    text = cap.outputs[0].data["text/plain"]
    assert f"Session          {session_id}" in text and "idle" in text and livy_server.url in text
    with capture_output() as cap:
        shell.run_line_magic("livy", "status")
    assert cap.stdout.strip() == f"Session {session_id}: idle"
    with capture_output() as cap:
        shell.run_line_magic("livy", "logs -n 5")
    assert 0 < len(cap.stdout.strip().splitlines()) <= 5
    with capture_output() as cap:
        shell.run_line_magic("livy", "sessions")
    assert "this notebook" in cap.outputs[0].data["text/plain"]
    with capture_output() as cap:
        shell.run_line_magic("livy", "config")
    assert "maxrows" in cap.stdout and livy_server.url in cap.stdout
    with capture_output() as cap:
        shell.run_line_magic("livy", "help")
    assert "%livy send" in cap.stdout and "%%livy_sql" in cap.stdout


def test_spark_kind_cell(shell: Any, session_id: Any) -> None:
    """A cell in another language goes to the server with that kind (the local server answers
    pyspark only, so the answer is its refusal, shown as a remote error)."""
    result = shell.run_cell("%%livy -l spark\nval x = 1")
    assert isinstance(result.error_in_exec, LivyHTTPError)
    assert "kind 'spark'" in str(result.error_in_exec)
    with pytest.raises(UsageError, match="-o works with pyspark and sql"):
        shell.run_cell_magic("livy", "-l spark -o x", "val x = 1")


def test_dead_session_is_reported_in_one_line_and_restart_recovers(shell: Any, session_id: Any,
                                                                   livy_server: Any) -> None:
    children = []
    for proc in psutil.Process(livy_server.pid).children(recursive=True):
        try:
            argv = proc.cmdline()
        except psutil.Error:  # zombies of earlier sessions
            continue
        if "--session-id" in argv and argv[argv.index("--session-id") + 1] == str(session_id):
            children.append(proc)
    assert children, "the session's process should be a child of the server"
    for child in children:
        child.kill()
    psutil.wait_procs(children, timeout=10)
    deadline = time.monotonic() + 15
    with pytest.raises(SessionDead) as info:
        while time.monotonic() < deadline:
            shell.run_cell_magic("livy", "", "1 + 1")  # may succeed once before the server notices
            time.sleep(0.2)
    assert time.monotonic() < deadline + 5
    [line] = info.value._render_traceback_()
    assert "%livy restart" in line and str(session_id) in line
    with pytest.raises(SessionDead):  # again, without a remote hang
        shell.run_cell_magic("livy", "", "1 + 1")

    with capture_output() as cap:
        shell.run_line_magic("livy", "restart")
    assert "is ready" in cap.stdout
    with capture_output() as cap:
        shell.run_cell_magic("livy", "", "print(spark.range(2).count())")
    assert cap.stdout == "2\n"


def test_kernel_entry_points_run_and_complete_remotely(shell: Any, session_id: Any) -> None:
    from fabric_livy_magics.notebook.commands.cell import complete_remote, run_remote_cell

    with capture_output() as cap:
        run_remote_cell(shell, "kernel_var = spark.range(4)\nprint(kernel_var.count())")
    assert cap.stdout == "4\n"
    matches, start, end = complete_remote(shell, "x = kernel_v", 12)
    assert "kernel_var" in matches and (start, end) == (4, 12)
    matches, _, _ = complete_remote(shell, "spark.ran", 9)
    assert "spark.range" in matches


def test_a_failed_attach_changes_nothing(shell: Any, session_id: Any, server_client: Any) -> None:
    """`%livy attach` to an id that does not exist fails in one line before the current session
    is touched: it stays alive on the server and keeps its variables."""
    shell.run_cell_magic("livy", "", "kept_through_bad_attach = 7")
    with pytest.raises(SessionNotFound):
        shell.run_line_magic("livy", "attach 987654")
    assert server_client.get_session(session_id).state is SessionState.IDLE
    with capture_output() as cap:
        shell.run_cell_magic("livy", "", "print(kept_through_bad_attach)")
    assert cap.stdout.strip() == "7"
