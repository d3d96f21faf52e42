"""Statements through the fault-injecting proxy (``tests/client/faultproxy.py``) in front of the
real local server, in ONE real Spark session: does a statement run exactly as often as the client
says it did?

Each statement is ``counter += 1; ran.append(i)``. Before it, faults are queued at random for its
``POST .../statements`` and the ``GET``s that follow (the statement itself, and the listings the
client makes to find a statement whose answer was lost): connection resets before and after
forwarding, delays past the client's 1 s read timeout, 429/430/503 refusals with a small
``Retry-After``, 502/503/504 after forwarding. Statements alternate between the Livy shape (no
``sourceId``: the client matches by code) and the Fabric shape (``sourceId``).

At the end ``ran`` says how many times each statement really ran:

* lost: the client said it ran but it did not, or said it failed (without saying it may have
  run) but it ran;
* uncertain: the client's error said the statement may have run (counted, not a failure);
* run twice: it ran more than once. The remote counter is also compared with the statements
  the client reported as run: counter > successes + uncertain means something ran twice.
"""

from __future__ import annotations

import json
import random
import re
import uuid
from collections import Counter
from dataclasses import dataclass, field

from fabric_livy_magics.errors import LivyError
from fabric_livy_magics.livy.client import LivyClient
from fabric_livy_magics.livy.endpoints import FabricEndpoint, LivyEndpoint
from tests.client.faultproxy import Fault, FaultProxy
from tests.fuzz.tripwire import BoundedRunner, Findings, Outcome, quiet_logs

__all__ = ["StatementsResult", "faults_for", "run_statements"]

WS, LH = "3c2b1a09-8f7e-4d6c-9b5a-4e3d2c1b0a99", "8e7d6c5b-4a39-4281-9f0e-1d2c3b4a5968"
POST, ONE, LIST = r"/statements$", r"/statements/\d+$", r"/statements$"
#: Words of an error that says the statement may have run (so the person checks before rerunning).
MAY_HAVE_RUN = re.compile(r"may have run|may still|may be running|keeps running|still running|may have started",
                          re.IGNORECASE)


def _refusal(status: int, rng: random.Random) -> dict[str, str]:
    return {"Retry-After": rng.choice(["0", "0", "0", "1"])} if status in (429, 430, 503) else {}


def faults_for(rng: random.Random) -> list[Fault]:
    """The faults queued before one statement (none a quarter of the time)."""
    faults: list[Fault] = []
    if rng.random() < 0.25:
        return faults
    for _ in range(rng.choice([1, 1, 2, 3])):
        where = rng.choices(["post", "get", "list"], weights=[5, 3, 2])[0]
        kind = rng.choice(["drop_before", "drop_after", "refuse", "error_after", "delay"])
        method, path = ("POST", POST) if where == "post" else ("GET", ONE if where == "get" else LIST)
        times = rng.choice([1, 1, 1, 2, 3])
        if kind in ("drop_before", "drop_after"):
            faults.append(Fault(method, path, kind, times=times))
        elif kind == "refuse":  # answered by the proxy: the server never sees it
            status = rng.choice([429, 430, 503, 502, 504])
            faults.append(Fault(method, path, "status", status=status, headers=_refusal(status, rng), times=times))
        elif kind == "error_after":  # the server got it, the client sees an error
            status = rng.choice([502, 503, 504])
            faults.append(Fault(method, path, "status_after", status=status, headers=_refusal(status, rng),
                                times=times))
        else:  # 1.3 s: past the client's read timeout
            faults.append(Fault(method, path, "delay", delay=rng.choice([0.1, 0.3, 1.3]), times=1))
    return faults


def _describe(faults: list[Fault]) -> str:
    return ", ".join(f"{f.method} {f.path} {f.action}{f' {f.status}' if 'status' in f.action else ''}"
                     f"{f' {f.delay}s' if f.action == 'delay' else ''}{f' x{f.times}' if f.times > 1 else ''}"
                     for f in faults) or "no fault"


@dataclass
class StatementsResult:
    cases: int = 0
    succeeded: int = 0
    uncertain: int = 0
    failed: int = 0
    lost: int = 0
    twice: int = 0
    counter: int = 0
    internal: int = 0
    hangs: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    findings: Findings = field(default_factory=lambda: Findings("statements"))

    def summary(self) -> str:
        over = self.counter - self.succeeded - self.uncertain
        return (f"statements: {self.cases} cases (succeeded {self.succeeded}, uncertain {self.uncertain}, failed "
                f"{self.failed}); statements lost {self.lost}, run twice {self.twice}; remote counter "
                f"{self.counter} vs reported run {self.succeeded} + uncertain {self.uncertain} "
                f"({'+' if over > 0 else ''}{over}); internal tracebacks {self.internal}, hangs {self.hangs}; "
                f"errors {dict(self.errors)}")


def open_session(livy_url: str, fabric_url: str) -> tuple[str, int]:
    """Create the one pyspark session (Fabric shape, no proxy): its GUID and its Livy id."""
    name = f"reliability-{uuid.uuid4().hex[:8]}"
    with LivyClient(fabric_url) as fabric, LivyClient(livy_url) as livy:
        created = fabric.create_session(name=name, conf={"spark.ui.enabled": "false"})
        fabric.wait_for_session(created.id, timeout=300)
        livy_id = next(s.id for s in livy.iter_sessions() if s.name == name)
    return str(created.id), int(livy_id)


def run_statements(server_url: str, cases: int, seed: int, *, session: tuple[str, int] | None = None,
                   bound: float = 60.0) -> StatementsResult:
    """``cases`` statements through a fault proxy in front of the server at ``server_url``, in
    ``session`` (GUID, Livy id) or in a session created here and deleted at the end."""
    with quiet_logs():
        return _run(server_url, cases, seed, session, bound)


def _run(server_url: str, cases: int, seed: int, session: tuple[str, int] | None, bound: float) -> StatementsResult:
    fabric_url = f"{server_url}/v1/workspaces/{WS}/lakehouses/{LH}/livyApi/versions/2023-12-01"
    owned = session is None
    guid, livy_id = open_session(server_url, fabric_url) if session is None else session
    direct = LivyClient(fabric_url, timeout=(5, 60))
    proxy = FaultProxy(server_url).start()
    quick = dict(timeout=(2, 1.0), backoff_factor=0.05)
    clients = {"livy": LivyClient(LivyEndpoint(proxy.url), **quick),
               "fabric": LivyClient(FabricEndpoint(WS, LH, base_url=proxy.url), **quick)}
    result, runner, outcomes = StatementsResult(), BoundedRunner(bound), {}
    try:
        direct.run_statement(guid, "counter = 0\nran = []", kind="pyspark")
        for i in range(cases):
            rng = random.Random(f"statements:{seed}:{i}")
            shape = rng.choice(["livy", "fabric"])
            faults = faults_for(rng)
            planned = f"#{i} {shape}: {_describe(faults)}"  # before the proxy counts them down
            for fault in faults:
                proxy.add(fault)
            client, target = clients[shape], (livy_id if shape == "livy" else guid)
            code = f"counter += 1\nran.append({i})"
            outcome = runner.run(lambda: client.run_statement(target, code, kind="pyspark", timeout=30))
            trail = "; ".join(f"{e.method} {e.path.split('/sessions/', 1)[-1]} {e.action} {e.status or ''}".rstrip()
                              for e in proxy.events)
            proxy.clear()
            outcomes[i] = _tally(result, outcome, planned, trail)
        found = json.loads(direct.run_statement(
            guid, "import json\nprint(json.dumps({'counter': counter, 'ran': ran}))", kind="pyspark").output.text)
        result.counter = found["counter"]
        _compare(result, outcomes, Counter(found["ran"]))
    finally:
        runner.close()
        for client in clients.values():
            client.close()
        proxy.stop()
        if owned:
            direct.delete_session(guid, missing_ok=True)
        direct.close()
    return result


def _tally(result: StatementsResult, outcome: Outcome, example: str, trail: str) -> tuple[str, str]:
    """Count what the client said; keep the faults, what the proxy saw and the error."""
    result.cases += 1
    error = outcome.error
    if not outcome.finished:
        result.hangs += 1
        result.findings.add("hang", example, type_name="Hang", message="no end within the bound", frame=outcome.where)
        return "failed", f"{example} -> no end [proxy: {trail}]"
    if error is None:
        result.succeeded += 1
        return "ok", f"{example} [proxy: {trail}]"
    message = f"{type(error).__name__}: {error} [proxy: {trail}]"
    if not isinstance(error, LivyError):
        result.internal += 1
        result.findings.add("internal", example, error)
    result.errors[type(error).__name__] += 1
    if isinstance(error, LivyError) and MAY_HAVE_RUN.search(str(error)):
        result.uncertain += 1
        return "uncertain", f"{example} -> {message}"
    result.failed += 1
    return "failed", f"{example} -> {message}"


def _compare(result: StatementsResult, outcomes: dict[int, tuple[str, str]], runs: Counter[int]) -> None:
    for i, (said, example) in outcomes.items():
        ran = runs.get(i, 0)
        if ran > 1:
            result.twice += 1
            result.findings.add("run twice", example, type_name="RunTwice", message=f"reported {said}, ran {ran} times")
        if (said == "ok" and ran == 0) or (said == "failed" and ran >= 1):
            result.lost += 1
            result.findings.add("lost", example, type_name="Lost", message=f"reported {said}, ran {ran} time(s)")
