"""The local server answers 1,500 odd requests (seeded) without one internal error."""

from __future__ import annotations

from fabric_livy_magics.server.launcher import RunningServer
from tests.fuzz.server_sweep import run_sweep


def test_odd_requests_get_no_internal_error(livy_server: RunningServer) -> None:
    log = (lambda: livy_server.log_path.read_text(errors="replace")) if livy_server.log_path else None
    result = run_sweep(livy_server.url, cases=1500, seed=20261205, log_text=log)
    print(result.summary())
    assert result.cases == 1500
    assert not result.internal_errors, result.internal_errors[:10]
    assert not result.not_json, result.not_json[:10]
    assert not result.created, result.created[:10]  # the shared server's sessions stay the tests' own
    assert len(result.statuses) > 3  # the sweep reached 404s, 400s, 413s/405s and successes, not one path
