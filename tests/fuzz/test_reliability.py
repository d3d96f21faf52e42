"""Issue 15, bounded for CI: generated magic lines end in one clear line and send nothing when
refused; mutated server answers end in a model or the project's own error; statements through
injected network faults are never lost nor run twice. ``benchmarks/reliability.py`` runs the same
generators at full size and lists the distinct failures.
"""

from __future__ import annotations

import pytest

from fabric_livy_magics.server.launcher import RunningServer
from tests.fuzz.magic_lines import run_lines
from tests.fuzz.server_answers import run_answers
from tests.fuzz.statements import run_statements

pytestmark = pytest.mark.timeout(600)

SEED = 15


def _failures(findings: object) -> str:
    return "\n".join(findings.report()[:60])  # type: ignore[attr-defined]


def test_every_magic_line_ends_in_one_line_and_refused_lines_send_nothing() -> None:
    result = run_lines(10_000, SEED)
    print(result.summary())
    assert result.cases == 10_000
    assert result.internal == 0 and result.prompts == 0, _failures(result.findings)
    assert result.hangs == 0, _failures(result.findings)
    assert result.bad_line_requests == 0, _failures(result.findings)
    assert result.outcomes["usage"] > 3_000 and result.outcomes["ok"] > 500  # both halves were reached


def test_every_server_answer_ends_in_a_model_or_a_livy_error_naming_the_url() -> None:
    result = run_answers(2_000, SEED)
    print(result.summary())
    assert result.cases == 2_000
    assert result.internal == 0, _failures(result.findings)
    assert result.hangs == 0, _failures(result.findings)
    assert result.unnamed_url == 0, _failures(result.findings)
    assert result.outcomes["model"] > 300 and result.outcomes["livy:MalformedResponse"] > 300


def test_statements_through_network_faults_are_never_lost_nor_run_twice(livy_server: RunningServer) -> None:
    result = run_statements(livy_server.url, 150, SEED)
    print(result.summary())
    assert result.cases == 150
    assert result.lost == 0, _failures(result.findings)
    assert result.twice == 0, _failures(result.findings)
    assert result.counter <= result.succeeded + result.uncertain
    assert result.internal == 0 and result.hangs == 0, _failures(result.findings)
