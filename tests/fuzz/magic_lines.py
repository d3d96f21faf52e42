"""Generated magic lines, valid and broken, run through a real IPython shell with the extension
loaded and connected to a tripwire server (``tripwire.py``). Every line must end in IPython's
``UsageError`` or the project's own ``LivyError`` (one line): never in another exception (an
"internal traceback"), a wait past the bound (a hang) or a prompt (a notebook has no standard
input: here it is an empty stream, and an audit hook refuses ``input()`` and opening the
terminal). A line refused with ``UsageError`` must have sent no request.

The grammar is the real one (``notebook/magics.py``, ``notebook/commands/*.py``): every ``%livy``
subcommand and option, ``%%livy``, ``%%livy_sql`` and ``%%local``. A run starts with a sweep (every
odd value once in every option that takes its kind), then random lines, half of them mutated:
unbalanced quotes, Unicode digits, huge / negative / NaN / infinite numbers, lone surrogates, empty
values, unknown options, typos, random Unicode, very long lines, secrets in options, cut lines.

Left out on purpose: the sign-in methods that wait for a person (``interactive`` opens a browser,
``device-code`` waits for a code to be typed elsewhere) and ``connect --local`` (it starts the
embedded server, a process; it sends nothing to a remote). The run's environment makes the
default sign-in method ``environment`` so that a line with an empty ``--auth`` cannot fall back to
``interactive``, and points the authority host at a closed loopback port.
"""

from __future__ import annotations

import contextlib
import io
import os
import random
import socket
import statistics
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from IPython.core.error import UsageError

from fabric_livy_magics.errors import LivyError
from tests.fuzz.tripwire import BoundedRunner, Findings, Outcome, Tripwire, quiet_logs

__all__ = ["Line", "LinesResult", "generate", "make_shell", "run_lines"]

WS = "11111111-2222-3333-4444-555555555555"
LH = "66666666-7777-8888-9999-aaaaaaaaaaaa"
FABRIC_URL = f"https://api.fabric.microsoft.com/v1/workspaces/{WS}/lakehouses/{LH}/livyApi/versions/2023-12-01/sessions"

#: Just past Python's limit for converting digit strings to int (4300 digits). Lines this long cost
#: IPython about 0.3 s to expand, so they are a small share of the odd values.
HUGE = "9" * 4301

# Values by kind: the valid ones first (used 80% of the time), then the odd ones.
VALUES: dict[str, tuple[list[str], list[str]]] = {
    "int": (["1", "5", "50", "0", "-1"],
            ["²", "٣", "１", "߂", "9" * 30, HUGE, "-" + "9" * 30, "nan", "inf", "1e400", "1.5", "0x10", "+3",
             "1_000", "", "-0"]),
    "float": (["1", "0.5", "30", "2.5"],
              ["0", "-1", "nan", "inf", "-inf", "1e400", "1e-400", HUGE, "²", "٣.٥", "1,5", "", "0x1p3"]),
    "id": (["0", "5", WS],
           ["²", "٣", "１", "-1", "9" * 19, HUGE, "a" * 4301, "\ud800", "00000000-0000-0000-0000-000000000000",
            "{" + WS + "}", "1.0", "", "0 1", "null"]),
    "name": (["df", "result_1", "top"], ["1df", "import", "a-b", "é", "a" * 300, "\ud800", "", "__class__", "None"]),
    "kind": (["pyspark", "sql", "spark", "sparkr"], ["PySpark", "python", "scala", "", "sql\x00", "ѕql"]),
    "url": (["{URL}"], ["http://127.0.0.1:1", "ftp://x", "", "not a url", "http://", "{URL}/sessions/",
                        "http://[::1", "http://127.0.0.1:99999", FABRIC_URL, "https://livy.invalid:8998", "{URL}\ud800"]),
    "conn": ([FABRIC_URL], [FABRIC_URL.replace("livyApi", "livyapi"), "https://api.fabric.microsoft.com/v1/x", "",
                            FABRIC_URL + "?x=1", FABRIC_URL.replace(WS, "²")]),
    "guid": ([WS, LH], ["not-a-guid", "²", "", WS.upper(), WS + "0", "\ud800"]),
    "conf": (["spark.executor.cores=2", "spark.sql.shuffle.partitions=4"],
             ["k", "=v", "k=", "a=b=c", "spark.executor.cores=²", "fs.azure.account.key.a.dfs.core.windows.net=KEY",
              "spark.password=x", "\ud800=1", "k=" + "v" * 5000]),
    "auth": (["environment", "none", "service-principal", "azure-cli", "azure-default"],
             ["bogus", "", "Environment", "NONE", "service_principal", "\ud800"]),
    "text": (["job", "nightly run"], ["", "\ud800", "x" * 4301, "é\u202e", "'"]),
    "path": (["{JOB}"], ["missing.py", "", "abfss://ws@onelake.dfs.fabric.microsoft.com/lh/Files/a.py",
                         "file://{JOB}", "{DIR}", "\ud800.py", "C:\\x.py", "~/nope.py", "{JOB}\x00"]),
    "pair": (["team=data"], ["team", "=x", "\ud800=1"]),
}

COMMANDS: dict[str, list[tuple[str, str | None]]] = {
    "connect": [("--url", "url"), ("--workspace", "guid"), ("--lakehouse", "guid"), ("--connection-string", "conn"),
                ("--kind", "kind"), ("--conf", "conf"), ("--environment", "guid"), ("--name", "text"),
                ("--high-concurrency", None), ("--tag", "text"), ("--auth", "auth"), ("--keep", None)],
    "info": [], "status": [], "sessions": [], "restart": [], "stop": [], "cancel": [], "config": [], "help": [],
    "batches": [], "logs": [("-n", "int"), ("--lines", "int")],
    "attach": [("", "id")],
    "send": [("", "name"), ("--as", "name")],
    "login": [("--auth", "auth"), ("--method", "auth"), ("--text", None)],
    "batch submit": [("", "path"), ("--args", "text"), ("--conf", "conf"), ("--name", "text"), ("--class", "text"),
                     ("--py-files", "path"), ("--target-lakehouse", "guid"), ("--environment", "guid"),
                     ("--tag", "pair"), ("--wait", None), ("--timeout", "float"), ("-n", "int"), ("--", "text")],
    "batch status": [("", "id")], "batch logs": [("", "id"), ("-n", "int")], "batch cancel": [("", "id")],
}
CELL_OPTIONS: list[tuple[str, str | None]] = [("-l", "kind"), ("--language", "kind"), ("-o", "name"),
                                              ("--output", "name"), ("-n", "int"), ("--maxrows", "int"),
                                              ("-q", None), ("--quiet", None), ("--timeout", "float")]
CELLS = ["1 + 1", "", "   ", "print('é')", "df = spark.range(3)", "select 1", "\ud800", "x" * 100_000, "%%sql",
         "\x00", "🙂" * 10]
LOCAL_CELLS = ["x = 1", "", "y = 'é'"]  # %%local runs them here: harmless code only
SECRETS = ["--client-secret abc", "--password hunter2", "--token abc", "--api-key k", "--url http://u:pw@127.0.0.1:1",
           "--url http://127.0.0.1:1/?sig=abc", "--conf spark.token=x", "--secret=1"]
UNKNOWN = ["--bogus", "-z", "--url=", "--kind=pyspark", "-h", "--help", "--", "-", "--=", "---x", "-o"]
ODD_CHARS = ["\u00a0", "\u200b", "\u202e", "\ufeff", "\t", "\r", "\n", "\x00", "\x1b[31m", "é", "🙂", "\u0301", "Ａ",
             "\\", "$", "%", "`", ";", "|", "&", "*", "\udfff"]


#: "long" is rarer than the others: IPython's own expansion of a magic line ($name, {expr}) takes
#: time quadratic in its length (a 10,000-character line about a second) before the magic runs.
MUTATIONS = ["quote", "unicode-digit", "huge-number", "non-finite", "surrogate", "empty-value", "unknown-option",
             "typo", "random-unicode", "secret", "cut", "duplicate"] * 6 + ["long"]


@dataclass(frozen=True)
class Line:
    magic: str  # livy, livy_sql, local
    line: str
    cell: str | None  # None: a line magic
    mutation: str = "none"

    def show(self) -> str:
        return f"%{self.magic} {self.line}" if self.cell is None else f"%%{self.magic} {self.line} | cell: {self.cell}"


def _value(rng: random.Random, kind: str) -> str:
    valid, odd = VALUES[kind]
    if rng.random() < 0.8:
        text = rng.choice(valid)
    else:  # thousands of characters cost IPython a third of a second: less often
        text = rng.choices(odd, weights=[1 if len(v) > 1000 else 6 for v in odd])[0]
    return _shown(text) if rng.random() < 0.7 else text


def _options(rng: random.Random, spec: list[tuple[str, str | None]]) -> list[str]:
    parts = []
    for flag, kind in spec:
        if flag == "" or rng.random() < 0.35:  # positionals always, options now and then
            value = _value(rng, kind) if kind else None
            parts.append(" ".join(p for p in (flag, value) if p is not None))
    if rng.random() < 0.2:
        rng.shuffle(parts)
    return parts


def _valid(rng: random.Random) -> Line:
    roll = rng.random()
    if roll < 0.25:
        magic = rng.choice(["livy", "livy", "livy_sql"])
        spec = CELL_OPTIONS if magic == "livy" else CELL_OPTIONS[2:]  # %%livy_sql has no -l
        return Line(magic, " ".join(_options(rng, spec)), rng.choice(CELLS))
    if roll < 0.28:
        return Line("local", "", rng.choice(LOCAL_CELLS))
    command = rng.choice(list(COMMANDS))
    return Line("livy", " ".join([command, *_options(rng, COMMANDS[command])]), None)


def _mutate(rng: random.Random, line: str) -> tuple[str, str]:
    name = rng.choice(MUTATIONS)
    words = line.split(" ")
    at = rng.randrange(len(words) + 1)
    if name == "quote":
        words.insert(at, rng.choice(['"', "'", '"open', "'open", 'a"b']))
    elif name in ("unicode-digit", "huge-number", "non-finite"):
        pool = {"unicode-digit": ["²", "٣", "１", "߂", "৩", "𝟗"],
                "huge-number": ["9" * 40, "-" + "9" * 40, "1e400", "9" * 400, "-" + "9" * 20, "9" * 25, HUGE],
                "non-finite": ["nan", "inf", "-inf", "NaN", "Infinity"]}[name]
        numeric = [i for i, w in enumerate(words) if w.lstrip("-").replace(".", "", 1).isdigit()]
        if numeric:
            words[rng.choice(numeric)] = rng.choice(pool)
        else:
            words.insert(at, rng.choice(["-n", "--timeout", ""]) + " " + rng.choice(pool))
    elif name == "surrogate":
        cut = rng.randrange(len(line) + 1)
        return line[:cut] + rng.choice(["\ud800", "\udfff", "\ud83d"]) + line[cut:], name
    elif name == "empty-value":
        options = [i for i, w in enumerate(words) if w.startswith("-") and i + 1 < len(words)]
        if options:
            words[rng.choice(options) + 1] = rng.choice(['""', "''", ""])
        else:
            words.append(rng.choice(["-n", "--url", "--timeout", "--name", "--as", "--auth"]))
    elif name == "unknown-option":
        words.insert(at, rng.choice(UNKNOWN))
    elif name == "typo" and words and words[0]:
        word = words[0]
        i = rng.randrange(len(word))
        words[0] = rng.choice([word[:i] + word[i + 1:], word[:i] + word[i] * 2 + word[i + 1:], word.upper(),
                               word[:i] + rng.choice("qxz") + word[i + 1:], word + "s"])
    elif name == "random-unicode":
        cut = rng.randrange(len(line) + 1)
        noise = "".join(rng.choice(ODD_CHARS) if rng.random() < 0.7 else chr(rng.randrange(32, 0x2FFFF))
                        for _ in range(rng.randint(1, 4)))
        return line[:cut] + noise + line[cut:], name
    elif name == "long":  # mostly a few thousand characters; now and then 40,000
        size = rng.choices([1_000, 5_000, 12_000, 40_000], weights=[70, 20, 7, 3])[0]
        token = rng.choice(["x", "--conf a=b", "-q", "é", "y" * 1000, "-q-q"])
        return line + " " + " ".join([token] * max(1, size // (len(token) + 1))), name
    elif name == "secret":
        words.insert(at, rng.choice(SECRETS))
    elif name == "cut":
        return line[:rng.randrange(len(line) + 1)], name
    elif name == "duplicate" and len(words) > 1:
        words.insert(at, rng.choice(words[1:]))
    return " ".join(words), name


def _shown(value: str) -> str:
    """The value as typed: quoted when it has a space or is empty."""
    return '"' + value.replace('"', '\\"') + '"' if " " in value or not value else value


def sweep() -> list[Line]:
    """Every odd value once in every option (and positional argument) that takes its kind, the
    rest of the line valid: the first lines of every run, whatever the seed."""
    lines = []
    for magic, spec in [("livy", CELL_OPTIONS), ("livy_sql", CELL_OPTIONS[2:])]:
        lines += [Line(magic, f"{flag} {_shown(odd)}", "1 + 1", "sweep") for flag, kind in spec if kind
                  for odd in VALUES[kind][1]]
    for command, spec in COMMANDS.items():
        for flag, kind in spec:
            for odd in VALUES[kind][1] if kind else []:
                parts = [command] + [(_shown(odd) if (f, k) == (flag, kind) else VALUES[k][0][0])  # type: ignore[index]
                                     for f, k in spec if f == ""]
                if flag:
                    parts.append(f"{flag} {_shown(odd)}")
                lines.append(Line("livy", " ".join(parts), None, "sweep"))
    return lines


SWEEP = sweep()


def generate(seed: int, index: int) -> Line:
    """Line ``index`` of run ``seed``: the sweep first, then lines each from its own generator,
    so any one of them can be produced again on its own."""
    if index < len(SWEEP):
        return SWEEP[index]
    rng = random.Random(f"magic-lines:{seed}:{index}")
    line = _valid(rng)
    if rng.random() < 0.55:
        text, name = line.line, "none"
        for _ in range(1 if rng.random() < 0.75 else 2):
            text, name = _mutate(rng, text)
        line = Line(line.magic, text, line.cell, name)
    return line


@dataclass
class LinesResult:
    cases: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    mutations: Counter[str] = field(default_factory=Counter)
    internal: int = 0
    hangs: int = 0
    prompts: int = 0
    bad_line_requests: int = 0
    strays: int = 0  # hung lines still running when the run went on (requests then not counted)
    durations: list[float] = field(default_factory=list)
    findings: Findings = field(default_factory=lambda: Findings("magic lines"))

    def summary(self) -> str:
        times = sorted(self.durations) or [0.0]
        p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
        strays = f" (hung lines still running meanwhile: {self.strays})" if self.strays else ""
        return (f"magic lines: {self.cases} cases ({dict(self.outcomes)}); internal tracebacks {self.internal}, "
                f"prompts {self.prompts}, hangs over the bound {self.hangs}, requests sent for bad lines "
                f"{self.bad_line_requests}{strays}; per line median {statistics.median(times) * 1000:.1f} ms, "
                f"p99 {p99 * 1000:.0f} ms, max {times[-1]:.2f} s")


class Prompted(EOFError):
    """Raised where a line tried to read standard input or the terminal."""


_ARMED, _HOOKED = [False], [False]


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if _ARMED[0] and (event == "builtins.input" or (event == "open" and args and str(args[0]) == "/dev/tty")):
        raise Prompted(f"the line prompted ({event} {args[:1]!r}): a notebook has no standard input")


@contextlib.contextmanager
def fuzz_environment(tripwire_url: str) -> Iterator[dict[str, str]]:
    """Environment, standard input and files for a run; everything restored afterwards."""
    saved_env, saved_stdin = dict(os.environ), sys.stdin
    with tempfile.TemporaryDirectory(prefix="fuzz-lines-") as tmp:
        job = os.path.join(tmp, "job.py")
        with open(job, "w") as f:
            f.write("print(1)\n")
        config = os.path.join(tmp, "config.toml")
        open(config, "w").close()
        with socket.socket() as closed:  # a port nobody listens on: sign-in services fail at once
            closed.bind(("127.0.0.1", 0))
            authority = f"https://127.0.0.1:{closed.getsockname()[1]}"
        for key in list(os.environ):
            if key.startswith(("FABRIC_", "AZURE_", "LIVY_")):
                del os.environ[key]
        os.environ.update(FABRIC_LIVY_CONFIG=config, FABRIC_LIVY_TOKEN_CACHE="none", FABRIC_LIVY_AUTO_LOCAL="0",
                          FABRIC_LIVY_AUTH_METHOD="environment", AZURE_AUTHORITY_HOST=authority,
                          AZURE_TENANT_ID=WS, AZURE_CLIENT_ID=LH, FABRIC_LIVY_KEEPALIVE_INTERVAL="0")
        sys.stdin = io.StringIO("")
        if not _HOOKED[0]:
            sys.addaudithook(_audit)  # cannot be removed: it does nothing unless armed
            _HOOKED[0] = True
        try:
            yield {"{URL}": tripwire_url, "{JOB}": job, "{DIR}": tmp}
        finally:
            sys.stdin = saved_stdin
            os.environ.clear()
            os.environ.update(saved_env)


def make_shell() -> Any:
    """The process's IPython shell (history off) with the extension freshly loaded."""
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryAccessor.enabled = False
    shell = InteractiveShell.instance(config=config)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        shell.run_line_magic("unload_ext", "fabric_livy_magics")
        shell.run_line_magic("load_ext", "fabric_livy_magics")
    return shell


def _on_tripwire(shell: Any, url: str, *, connect: bool = False) -> bool:
    """Is the notebook connected to the tripwire (after connecting it, with ``connect``)?"""
    from fabric_livy_magics.notebook.commands.cell import state_of

    if connect:  # no embedded server, no keep-alive requests, no progress lines
        for setting in ("auto_local = False", "keepalive_interval = 0", "progress_delay = 60"):
            shell.run_line_magic("config", f"LivyMagics.{setting}")
        shell.run_line_magic("livy", f"connect --url {url}")
    target = state_of(shell).target
    return target is not None and target.endpoint.root.rstrip("/") == url


def run_lines(cases: int, seed: int, *, bound: float = 10.0, stray_wait: float = 30.0) -> LinesResult:
    """Run lines ``0 .. cases-1`` of ``seed``; each must end within ``bound`` seconds. A line that
    does not is a hang; it gets ``stray_wait`` more seconds to end in the background before the
    next line runs (else requests counted later may be its own)."""
    import pandas as pd

    result = LinesResult()
    runner = BoundedRunner(bound)
    quiet = io.StringIO()
    with Tripwire() as wire, fuzz_environment(wire.url) as places, quiet_logs():
        shell = make_shell()
        shell.user_ns.update(df=pd.DataFrame({"a": [1, 2]}), n=5)
        try:
            for index in range(cases):
                line = generate(seed, index)
                text = line.line
                for key, value in places.items():
                    text = text.replace(key, value)
                with contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):
                    if not _on_tripwire(shell, wire.url) and not runner.run(
                            lambda: _on_tripwire(shell, wire.url, connect=True)).value:
                        raise RuntimeError(f"could not connect back to the tripwire after {line.show()!r}")
                    before, stray = wire.requests, runner.stray_running
                    outcome = runner.run(lambda: _run_one(shell, line.magic, text, line.cell))
                    # Requests are blamed on a line only when no hung line ran meanwhile; a hung
                    # line gets time to end, so that the lines after it are measured alone.
                    sent = 0 if stray or runner.stray_running else wire.requests - before
                    if not outcome.finished and not runner.settle(stray_wait):
                        result.strays += 1
                quiet.seek(0)
                quiet.truncate()
                _classify(result, Line(line.magic, text, line.cell, line.mutation), outcome, sent, bound)
        finally:
            shell.config.pop("LivyMagics", None)  # the settings made here must not outlive the run
            with contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):
                runner.run(lambda: shell.run_line_magic("unload_ext", "fabric_livy_magics"))
                runner.run(lambda: shell.run_line_magic("load_ext", "fabric_livy_magics"))
            runner.close()
    return result


def _run_one(shell: Any, magic: str, line: str, cell: str | None) -> None:
    _ARMED[0] = True
    try:
        if cell is None:
            shell.run_line_magic(magic, line)
        else:
            shell.run_cell_magic(magic, line, cell)
    finally:
        _ARMED[0] = False


def _classify(result: LinesResult, line: Line, outcome: Outcome, sent: int, bound: float) -> None:
    shown, exc = line.show(), outcome.error
    result.cases += 1
    result.mutations[line.mutation] += 1
    result.durations.append(outcome.seconds)
    if not outcome.finished or outcome.seconds > bound:
        kind = "hang"
        result.findings.add(kind, shown, type_name="Hang", message=f"no end within {bound:g} s",
                            frame=outcome.where or "(it ended, late)")
    elif isinstance(exc, EOFError):  # Prompted, or input() on the empty standard input
        kind = "prompt"
        result.findings.add(kind, shown, exc)
    elif exc is None or isinstance(exc, (UsageError, LivyError)):
        kind = "ok" if exc is None else "usage" if isinstance(exc, UsageError) else f"livy:{type(exc).__name__}"
        if kind == "usage" and sent:
            result.bad_line_requests += sent
            result.findings.add("request for a bad line", shown, exc, message=f"{sent} request(s) sent, then {exc}")
    else:
        kind = "internal"
        result.findings.add(kind, shown, exc)
    result.outcomes[kind] += 1
    result.hangs, result.prompts, result.internal = (result.outcomes[k] for k in ("hang", "prompt", "internal"))
