"""Robustness, measured (issue 15): generated magic lines, mutated server answers, and statements
through injected network faults, with the figures that must be 0 and the distinct failures.

    python benchmarks/reliability.py [--cases N] [--cases-lines N] [--cases-answers N] [--statements N] [--seed S]

It starts what it needs: a tripwire server and answer servers in this process, and (for the
statements) the local Livy-compatible server with ONE real Spark session. ``--statements 0``
skips that part (no Spark). Every case comes from the seed and its own index, so one failure can
be produced again alone (``tests/fuzz/*.py``: ``generate``, ``make_case``). Exit status 1 when a
goal is missed.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fuzz.magic_lines import run_lines  # noqa: E402
from tests.fuzz.server_answers import run_answers  # noqa: E402
from tests.fuzz.statements import run_statements  # noqa: E402
from tests.fuzz.tripwire import Findings  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, metavar="N",
                        help="scale all parts: N magic lines, N/5 server answers, 3%% of N statements")
    parser.add_argument("--cases-lines", type=int, metavar="N", help="magic lines (default 10,000)")
    parser.add_argument("--cases-answers", type=int, metavar="N", help="server answers (default 2,000)")
    parser.add_argument("--statements", type=int, metavar="N", help="statements (default 300; 0: skip)")
    parser.add_argument("--seed", type=int, default=15, help="seed of every generator (default 15)")
    parser.add_argument("--bound", type=float, default=10.0, help="seconds after which a call is a hang (default 10)")
    args = parser.parse_args(argv)
    scale = 10_000 if args.cases is None else args.cases
    lines_n = scale if args.cases_lines is None else args.cases_lines
    answers_n = scale // 5 if args.cases_answers is None else args.cases_answers
    statements_n = scale * 3 // 100 if args.statements is None else args.statements

    findings = Findings("all")
    goals: list[tuple[str, int]] = []
    print(f"Reliability, seed {args.seed}; a call running past {args.bound:g} s is a hang.", flush=True)

    began = time.monotonic()
    lines = run_lines(lines_n, args.seed, bound=args.bound)
    print(f"  {lines.summary()} [{time.monotonic() - began:.0f} s]", flush=True)
    print(f"    mutations: {dict(lines.mutations.most_common())}", flush=True)
    findings.merge(lines.findings)
    goals += [("magic lines: internal tracebacks", lines.internal + lines.prompts),
              (f"magic lines: hangs over {args.bound:g} s", lines.hangs),
              ("magic lines: requests sent for bad lines", lines.bad_line_requests)]

    began = time.monotonic()
    answers = run_answers(answers_n, args.seed, bound=args.bound)
    print(f"  {answers.summary()} [{time.monotonic() - began:.0f} s]", flush=True)
    print(f"    answers: {dict(answers.labels.most_common())}", flush=True)
    findings.merge(answers.findings)
    goals += [("server answers: internal tracebacks", answers.internal),
              (f"server answers: hangs over {args.bound:g} s", answers.hangs),
              ("server answers: MalformedResponse not naming the URL", answers.unnamed_url)]

    if statements_n:
        from fabric_livy_magics.server.launcher import start_server

        began = time.monotonic()
        server = start_server(port=0, master="local[2]")
        try:
            statements = run_statements(server.url, statements_n, args.seed)
        finally:
            server.stop()
        print(f"  {statements.summary()} [{time.monotonic() - began:.0f} s, with the session start]", flush=True)
        findings.merge(statements.findings)
        goals += [("statements: lost", statements.lost), ("statements: run twice", statements.twice),
                  ("statements: internal tracebacks", statements.internal)]

    print("\nGoals (each 0):")
    for name, value in goals:
        print(f"  {name:<54}{value:>6}{'' if value == 0 else '   <- missed'}")
    report = findings.report()
    print(f"\nDistinct failures: {len(findings.groups)}")
    print("\n".join(report) if report else "  none")
    return 1 if any(value for _, value in goals) else 0


if __name__ == "__main__":
    sys.exit(main())
