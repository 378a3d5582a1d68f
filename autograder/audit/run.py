"""`python -m autograder audit`: how many plausible wrong versions of the solutions the checks catch.

1. Make every single-change mutant of the solutions' graded functions (audit/mutants.py).
2. Grade each one, and the unmodified solutions as the control, through grade-all: every check,
   hidden included, in parallel, cached (a re-run grades only mutants or checks that changed).
3. A mutant that loses points anywhere is killed. One that keeps full marks is run beside the
   solutions on random inputs (audit/equivalence.py): equivalent if nothing tells them apart,
   else a survivor, a plausible bug the checks miss.
4. The kill rate is killed / (made - equivalent).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from autograder.audit.mutants import ORIGINAL, Mutant, mutants_of, runs_of, sample, write_submissions
from autograder.registry import Course

EQUIVALENCE_CACHE = "equivalence.json"


@dataclass
class AuditOptions:
    jobs: int = 0                    # grading workers (0: one per core)
    samples: int = 200               # random inputs per function for the equivalence test
    timeout_s: float = 5.0           # per call of a mutant (the solutions take milliseconds)
    operators: Sequence[str] = ()    # only these operators (none: all)
    per_operator: int = 0            # at most this many mutants of each operator (0: all)
    force: bool = False              # regrade everything, ignoring both caches


@dataclass(frozen=True)
class CheckRun:
    name: str
    visible: bool
    passed: bool


@dataclass
class Outcome:
    """What became of one mutant: "killed", "equivalent" or "survived"."""

    mutant: Mutant
    status: str
    score: float
    max_score: float
    failed: list[str] = field(default_factory=list)    # the checks that caught it
    checks: list[CheckRun] = field(default_factory=list)  # its function's checks, as they ran
    differs: str = ""                                  # a survivor: an input that tells it apart


@dataclass
class AuditResult:
    outcomes: list[Outcome]
    seconds: float
    graded: int          # mutants graded this run (the rest came from grade-all's cache)

    def count(self, status: str, function: str | None = None) -> int:
        return sum(o.status == status and (function is None or o.mutant.function == function) for o in self.outcomes)

    @property
    def kill_rate(self) -> float:
        """Killed over non-equivalent mutants (1.0 when every mutant is equivalent)."""
        scored = len(self.outcomes) - self.count("equivalent")
        return self.count("killed") / scored if scored else 1.0

    def functions(self) -> list[str]:
        return list(dict.fromkeys(o.mutant.function for o in self.outcomes))

    def by_function(self) -> dict[str, dict[str, int]]:
        table = {}
        for name in self.functions():
            counts = Counter(o.status for o in self.outcomes if o.mutant.function == name)
            table[name] = {"made": sum(counts.values()), "killed": counts["killed"],
                           "equivalent": counts["equivalent"], "surviving": counts["survived"]}
        return table


class AuditError(RuntimeError):
    """The audit cannot say anything: the solutions themselves do not score full marks."""


def audit(course: Course, solutions: Path, out: Path, options: AuditOptions = AuditOptions(),
          console: Any = None) -> AuditResult:
    """Mutate `solutions`, grade every mutant into `out`, and classify each one."""
    start = time.monotonic()
    say = console.print if console is not None else (lambda *args, **kwargs: None)
    mutants = sample(mutants_of(course, solutions), options.operators, options.per_operator)
    say(f"audit: {len(mutants)} mutants of {len({m.function for m in mutants})} functions")
    write_submissions(course, mutants, solutions, out / "mutants")
    graded, results = grade_mutants(course, out, options)
    control = outcome_of(None, results[ORIGINAL])
    if control.failed:
        raise AuditError(f"the solutions score {control.score:g}/{control.max_score:g}, failing "
                         f"{len(control.failed)} check(s), first {control.failed[0]!r}: fix them or the "
                         f"checks first (see {out / 'grading' / 'students' / ORIGINAL / 'feedback.md'})")
    say(f"audit: graded {graded} (the rest from the cache) in {time.monotonic() - start:.0f} s")
    outcomes = [outcome_of(m, results[m.id]) for m in mutants]
    classify(course, solutions, out, [o for o in outcomes if o.status == "survived"], options, say)
    return AuditResult(outcomes, round(time.monotonic() - start, 1), graded)


def grade_mutants(course: Course, out: Path, options: AuditOptions) -> tuple[int, dict[str, list[Any]]]:
    """Grade out/mutants/* with grade-all into out/grading (its log in grade-all.log); returns how
    many were graded afresh and each submission's check results (from the rows grade-all returns)."""
    from rich.console import Console

    from autograder.batch.launch import Options
    from autograder.batch.run import grade_all

    log = io.StringIO()
    rows = grade_all(out / "mutants", out / "grading",
                     Options(timeout_s=options.timeout_s, include_hidden=True, jobs=options.jobs,
                             force=options.force, course=course.package),
                     console=Console(file=log, width=120, force_terminal=False))
    (out / "grading" / "grade-all.log").write_text(log.getvalue(), encoding="utf-8")
    return sum(not getattr(row, "cached", False) for row in rows), {row.student_id: row.report.results for row in rows}


def outcome_of(mutant: Mutant | None, results: Sequence[Any]) -> Outcome:
    """Killed when any check lost points; else (until the equivalence test) survived. `results`
    are the submission's check results (name, score, max_score, visible); None: the solutions."""
    failed = [r.name for r in results if r.score < r.max_score]
    mine = [CheckRun(r.name, r.visible, r.score >= r.max_score)
            for r in results if mutant and r.name.startswith(f"{mutant.function}: ")]
    return Outcome(mutant, "killed" if failed else "survived", sum(r.score for r in results),
                   sum(r.max_score for r in results), failed, mine)


def classify(course: Course, solutions: Path, out: Path, survivors: list[Outcome], options: AuditOptions,
             say: Any = print) -> None:
    """Mark each full-marks mutant equivalent or survived, from the cache where nothing changed."""
    cache_path = out / EQUIVALENCE_CACHE
    cache = {} if options.force or not cache_path.is_file() else json.loads(cache_path.read_text(encoding="utf-8"))
    version = _version(solutions, options.samples)
    keys = {o.mutant.id: hashlib.sha256((version + o.mutant.source).encode()).hexdigest() for o in survivors}
    fresh = [o for o in survivors if keys[o.mutant.id] not in cache]
    if fresh:
        say(f"audit: running {len(fresh)} full-marks mutant(s) beside the solutions on random inputs")
        jobs = min(len(fresh), options.jobs or len(os.sched_getaffinity(0)))
        with ThreadPoolExecutor(jobs) as pool:  # a sandbox each: the children run on every core
            for found in pool.map(lambda i: tell_apart(course, solutions, out, fresh[i::jobs], options), range(jobs)):
                cache.update({keys[mutant_id]: told for mutant_id, told in found.items()})
    for o in survivors:
        o.differs = cache[keys[o.mutant.id]]
        o.status = "survived" if o.differs else "equivalent"
    cache_path.write_text(json.dumps({k: cache[k] for k in keys.values()}, indent=1), encoding="utf-8")


def tell_apart(course: Course, solutions: Path, out: Path, outcomes: list[Outcome], options: AuditOptions
               ) -> dict[str, str]:
    """mutant id -> the input that tells it from the solutions ("" when none does), in one sandbox."""
    from autograder.audit.equivalence import Equivalence
    from autograder.isolate.sandbox import Limits, Sandbox, course_preload

    with Sandbox(Limits(timeout_s=options.timeout_s), preload=course_preload(course)) as sandbox:
        equivalence = Equivalence(course, sandbox, solutions, options.samples)
        return {o.mutant.id: equivalence.difference(out / "mutants" / o.mutant.id,
                                                    runs_of(course, solutions, course.function(o.mutant.function))) or ""
                for o in outcomes}


def _version(solutions: Path, samples: int) -> str:
    """What an equivalence verdict depends on besides the mutant: the grader's and the course's
    source (inputs, isolation), the solutions and the number of samples."""
    package = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256(str(samples).encode())
    for file in sorted([*package.rglob("*.py"), *solutions.glob("*.py")]):
        digest.update(file.name.encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()
