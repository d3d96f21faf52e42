"""Generated ``%livy`` / ``%%livy`` / ``%%livy_sql`` lines, valid and broken, run through a real
IPython shell connected to a tripwire server. Each line must end in IPython's UsageError or the
project's own error (one line), never another exception, never a hang, and a line refused as a
usage error must not have sent a request.

Sign-in methods that wait for a person (interactive browser, device code) are left out: they
legitimately wait. Standard input is an empty stream, so a prompt counts as a failure."""

from __future__ import annotations

import collections
import contextlib
import io
import random
import signal
import sys
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

from IPython.core.error import UsageError

from fabric_livy_magics.errors import LivyError

COMMANDS = ["connect", "info", "status", "logs", "sessions", "attach", "restart", "stop", "cancel", "send",
            "config", "help", "batch", "batches", "login", ""]
OPTIONS = {
    "connect": ["--url", "--workspace", "--lakehouse", "--connection-string", "--kind", "--conf", "--environment",
                "--name", "--high-concurrency", "--tag", "--auth", "--keep"],
    "logs": ["-n"], "attach": [], "send": ["--as"],
    "batch": ["submit", "status", "logs", "cancel", "--args", "--conf", "--name", "--class", "--wait",
              "--timeout", "-n", "--tag", "--py-files", "--target-lakehouse", "--environment", "--"],
    "login": ["--auth service-principal", "--auth environment", "--auth azure-cli", "--auth none", "--text",
              "--method environment"],
    "cell": ["-l", "-o", "-n", "-q", "--timeout"],
}
VALUES = ["", "1", "0", "-1", "2500", "²", "٣", "１", "9" * 30, "9" * 5000, "nan", "inf", "-inf", "1e400", "1.5",
          "pyspark", "sql", "scala", "df", "1df", "import", "a b", '"quoted value"', "'single'", '"unbalanced',
          "'unbalanced", "\\", "x=1", "spark.executor.memory=2g", "password=hunter2", "a" * 5000, "\ud800",
          "http://127.0.0.1:1", "http://:pw@host", "http://u:p@host", "https://api.fabric.microsoft.com/v1/x",
          "11111111-2222-3333-4444-555555555555", "not-a-guid", "--", "-", "%", "$(rm -rf /)", "\x00", "é", "🙂",
          "fs.azure.account.key.a.dfs.core.windows.net=KEY", "--client-secret abc", "?token=x"]


@dataclass
class LineOutcome:
    cases: int = 0
    kinds: collections.Counter[str] = field(default_factory=collections.Counter)
    internal: dict[str, list[str]] = field(default_factory=dict)  # "Type: message" -> example lines
    hangs: list[str] = field(default_factory=list)
    requests_for_bad_lines: int = 0
    bad_line_examples: list[str] = field(default_factory=list)


def generate(rng: random.Random) -> tuple[str, str, str | None]:
    """(magic, line, cell or None)."""
    roll = rng.random()
    if roll < 0.3:
        magic = rng.choice(["livy", "livy_sql"])
        parts = [rng.choice(OPTIONS["cell"] + [""]) + " " + rng.choice(VALUES) for _ in range(rng.randint(0, 3))]
        return magic, " ".join(parts), rng.choice(["1", "", "print(1)", "select 1", "\ud800"])
    command = rng.choice(COMMANDS)
    parts = [command]
    for _ in range(rng.randint(0, 4)):
        choice = rng.random()
        if choice < 0.45 and OPTIONS.get(command):
            parts.append(rng.choice(OPTIONS[command]))
        elif choice < 0.9:
            parts.append(rng.choice(VALUES))
        else:
            parts.append(rng.choice(["--bogus", "-z", "--url=", "--kind=pyspark", "help", "--help"]))
    if command == "login" and not any(p.startswith("--auth") or p.startswith("--method") for p in parts):
        parts.append("--auth environment")  # never the methods that wait for a person
    line = " ".join(parts)
    if rng.random() < 0.05:
        cut = rng.randint(0, len(line))
        line = line[:cut] + rng.choice(['"', "'", "\\", "\x00", "\ud800", "\n"]) + line[cut:]
    return "livy", line, None


class _Hang(BaseException):
    pass


def _on_alarm(signum: int, frame: Any) -> None:
    raise _Hang()


def run_lines(shell: Any, url: str, wire: Any, cases: int, seed: int, *, bound: float = 10.0) -> LineOutcome:
    """Run ``cases`` generated lines; ``wire`` counts the requests that reach the server."""
    rng = random.Random(seed)
    outcome = LineOutcome()
    # Never the embedded server: a line without a target must fail, not start Spark.
    shell.run_line_magic("config", "LivyMagics.auto_local = False")
    shell.run_line_magic("livy", f"connect --url {url}")
    saved_stdin = sys.stdin
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    try:
        for _ in range(cases):
            magic, line, cell = generate(rng)
            sys.stdin = io.StringIO("")
            if line.split()[:1] in (["login"], ["connect"]) or "--auth" in line:
                with contextlib.redirect_stdout(io.StringIO()):
                    shell.run_line_magic("livy", f"connect --url {url}")  # a fresh, known target
            before = wire.requests
            began = time.monotonic()
            signal.setitimer(signal.ITIMER_REAL, bound)
            try:
                with contextlib.redirect_stdout(io.StringIO()):
                    if cell is None:
                        shell.run_line_magic(magic, line)
                    else:
                        shell.run_cell_magic(magic, line, cell)
                kind = "ok"
            except _Hang:
                kind = "hang"
                outcome.hangs.append(f"%{magic} {line[:120]!r}")
            except UsageError:
                kind = "usage"
                if wire.requests != before:
                    outcome.requests_for_bad_lines += wire.requests - before
                    outcome.bad_line_examples.append(f"%{magic} {line[:120]!r}")
            except LivyError:
                kind = "livy-error"
            except BaseException as exc:  # noqa: BLE001 - what the suite exists to find
                kind = "internal"
                frames = [f for f in traceback.extract_tb(exc.__traceback__) if "fabric_livy_magics" in f.filename]
                where = f"{frames[-1].filename.split('fabric_livy_magics/')[-1]}:{frames[-1].name}" if frames else "?"
                key = f"{type(exc).__name__} at {where}: {str(exc)[:80]}"
                outcome.internal.setdefault(key, []).append(f"%{magic} {line[:120]!r}")
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            if time.monotonic() - began > bound and kind != "hang":
                outcome.hangs.append(f"%{magic} {line[:120]!r} took {time.monotonic() - began:.1f} s")
            outcome.kinds[kind] += 1
            outcome.cases += 1
    finally:
        signal.signal(signal.SIGALRM, previous)
        sys.stdin = saved_stdin
    return outcome
