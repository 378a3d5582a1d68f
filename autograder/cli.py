"""The `python -m autograder` / `nlm-grade` commands."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import NoReturn

ROOT = Path(__file__).resolve().parent.parent


def _course():
    from autograder.registry import load_course

    return load_course()


def _stubs(args: argparse.Namespace) -> int:
    from autograder.build.handout import write_notebook
    from autograder.build.stubs import write_stubs

    course = _course()
    for path in write_stubs(args.solutions, args.assignment, course):
        print(f"wrote {path}")
    print(f"wrote {write_notebook(args.assignment / course.notebook_name, course, args.solutions)}")
    from autograder.build.readme import refresh_readme

    readme = args.assignment.parent / "README.md"
    if readme.is_file() and refresh_readme(readme, course):
        print(f"wrote the assignment table of {readme}")
    return 0


def _limits(args: argparse.Namespace):
    from autograder.isolate.sandbox import Limits

    return Limits(timeout_s=args.timeout, memory_bytes=int(args.memory_gib * 2**30))


def _grade(args: argparse.Namespace) -> int:
    if not args.submission.exists():
        print(f"grade: {args.submission}: no such file or folder")
        return 2
    from autograder.isolate.sandbox import Sandbox, course_preload

    course = _course()
    # Start the fork server first: it imports torch on the other core while this process does,
    # then loads the submission (its loading server started now too) while the fork server
    # finishes its preload.
    with Sandbox(_limits(args), preload=course_preload(course)) as sandbox:
        from autograder.load.bounded import start_server

        start_server()
        from autograder.grade import NotConfined, grade
        from autograder.registry import warm_reference
        from autograder.report.gradescope import write_results
        from autograder.report.terminal import print_report

        warm_reference(course)
        try:
            report = grade(args.submission, course, sandbox=sandbox, include_hidden=not args.visible_only,
                           require_confinement=args.require_confinement)
        except NotConfined:
            return 3
    if args.results:
        write_results(course, report, args.results)
    print_report(course, report)
    return 0


def _add_limits(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--require-confinement", action="store_true",
                        help="refuse to grade where student code cannot be confined (no user namespaces)")
    parser.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS",
                        help="wall-clock limit for each call of a student function (default 10)")
    parser.add_argument("--memory-gib", type=float, default=2.0, metavar="GIB",
                        help="memory a student function may use (default 2)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    stubs = commands.add_parser("stubs", help="regenerate assignment/ from solutions/")
    stubs.add_argument("--solutions", type=Path, default=ROOT / "solutions")
    stubs.add_argument("--assignment", type=Path, default=ROOT / "assignment")
    stubs.set_defaults(run=_stubs)

    grade = commands.add_parser("grade", help="grade one submission (folder, .py, .ipynb or .zip)")
    grade.add_argument("submission", type=Path)
    grade.add_argument("--results", type=Path, help="write Gradescope results.json here")
    grade.add_argument("--visible-only", action="store_true", help="skip the hidden checks")
    _add_limits(grade)
    grade.set_defaults(run=_grade)

    grade_all = commands.add_parser(
        "grade-all", help="grade a class: a folder of submissions or a Gradescope export (.zip)")
    grade_all.add_argument("submissions", type=Path,
                           help="one subfolder, .ipynb, .zip or .py per student, or a Gradescope export")
    grade_all.add_argument("--out", type=Path, default=Path("reports"), help="reports folder (default reports)")
    grade_all.add_argument("--jobs", type=int, default=0, help="parallel workers (default: one per core)")
    grade_all.add_argument("--force", action="store_true", help="regrade everything, ignoring the cache")
    grade_all.add_argument("--visible-only", action="store_true", help="skip the hidden checks")
    grade_all.add_argument("--settings", type=Path, help="the course settings (default: grading.toml beside "
                           "the submissions): deadline, late policy, extensions, exports, similarity")
    grade_all.add_argument("--overrides", type=Path, help="manual adjustments (default: overrides.csv beside "
                           "the submissions): student_id,function,points,comment,who")
    grade_all.add_argument("--starter", type=Path, default=ROOT / "assignment" if (ROOT / "assignment").is_dir() else None,
                           help="the handout's code, which similarity leaves out (default: assignment/)")
    grade_all.add_argument("--bom", action="store_true", help="write the CSV files as UTF-8 with a BOM (Excel)")
    grade_all.add_argument("--table", action="store_true", help="list every student in the terminal, "
                           "however large the class (default: up to 60)")
    _add_limits(grade_all)
    grade_all.set_defaults(run=_grade_all)

    audit = commands.add_parser("audit", help="mutation analysis: how many single-change mutants of the "
                                "solutions the checks catch (kill rate, survivors, audit.html)")
    audit.add_argument("--solutions", type=Path, default=ROOT / "solutions")
    audit.add_argument("--out", type=Path, default=Path("audit-reports"), help="reports folder (default audit-reports)")
    audit.add_argument("--json", type=Path, metavar="PATH", help="also write the summary as JSON here")
    audit.add_argument("--jobs", type=int, default=0, help="parallel grading workers (default: one per core)")
    audit.add_argument("--samples", type=int, default=200, help="random inputs per function for the "
                       "equivalence test (default 200)")
    audit.add_argument("--operators", default="", help="comma-separated operators to use (default: all)")
    audit.add_argument("--per-operator", type=int, default=0, metavar="N",
                       help="at most N mutants of each operator, a fixed sample (default: all)")
    audit.add_argument("--threshold", type=float, default=0.95,
                       help="exit 1 when the kill rate is below this (default 0.95)")
    audit.add_argument("--timeout", type=float, default=5.0, metavar="SECONDS",
                       help="wall-clock limit for each call of a mutant (default 5)")
    audit.add_argument("--force", action="store_true", help="regrade everything, ignoring the caches")
    audit.set_defaults(run=_audit)

    bundle = commands.add_parser("bundle", help="build the Gradescope autograder zip")
    bundle.add_argument("--out", type=Path, default=ROOT / "dist" / "gradescope-autograder.zip")
    bundle.set_defaults(run=_bundle)

    gradescope = commands.add_parser("gradescope", help="inside Gradescope: grade ROOT/submission "
                                     "into ROOT/results/results.json (run_autograder calls this)")
    gradescope.add_argument("--root", type=Path, default=Path("/autograder"))
    gradescope.add_argument("--show-stdout", action="store_true", default=None,
                            help="let students see this command's output (AUTOGRADER_SHOW_STDOUT=1)")
    gradescope.add_argument("--self-test", action="store_true",
                            help="grade a submission whose every function raises, in a temporary root; "
                            "exit 1 unless every check ran (setup.sh's last step)")
    _add_limits(gradescope)
    gradescope.set_defaults(run=_gradescope)

    release = commands.add_parser("release", help="build the student release: dist/student-release/ and .zip")
    release.add_argument("--out", type=Path, default=ROOT / "dist", help="output folder (default dist)")
    release.set_defaults(run=_release)

    check = commands.add_parser("check", allow_abbrev=False, help="run the visible checks on a submission "
                                "with pytest, as students see them (other options go to pytest)")
    check.add_argument("path", type=Path, help="a folder, notebook, .py or .zip")
    check.add_argument("--runner", choices=("sandbox", "portable"), default=None,
                       help="where the functions run: the Linux sandbox (default on Linux) or the portable runner")
    check.set_defaults(run=_check)

    replay = commands.add_parser("replay", help="write the inputs of a check's call to replay_<function>.npz "
                                 "and print the Python lines that call your function on them")
    replay.add_argument("name", help="the check's name as pytest shows it (or a part of it that only it has)")
    replay.add_argument("--call", type=int, default=1, metavar="N", help="which of the check's calls (default 1)")
    replay.add_argument("--out", type=Path, default=Path("."), help="the folder for the .npz (default: here)")
    replay.set_defaults(run=_replay)
    return parser


def _release(args: argparse.Namespace) -> int:
    from autograder.build.release import main

    return main(args.out)


def _check(args: argparse.Namespace) -> int:
    from autograder.student.pytest_plugin import run_checks

    return run_checks(args.path, args.pytest_args, args.runner)


def _replay(args: argparse.Namespace) -> int:
    from autograder.student.replay import main

    return main(args.name, args.call, args.out)


def _bundle(args: argparse.Namespace) -> int:
    from autograder.build.bundle import main

    return main(args.out)


def _gradescope(args: argparse.Namespace) -> int:
    from autograder.gradescope import main, self_test

    if args.self_test:
        return self_test(_limits(args))
    return main(args.root, show_stdout=args.show_stdout, limits=_limits(args), own_process=True)


def _audit(args: argparse.Namespace) -> int:
    from autograder.audit.report import print_audit, write_html, write_json
    from autograder.audit.run import AuditError, AuditOptions, audit
    from autograder.report.terminal import wide_console

    console = wide_console()
    options = AuditOptions(jobs=args.jobs, samples=args.samples, timeout_s=args.timeout, force=args.force,
                           operators=tuple(o for o in args.operators.split(",") if o),
                           per_operator=args.per_operator)
    try:
        result = audit(_course(), args.solutions, args.out, options, console)
    except AuditError as error:
        console.print(f"[red]audit:[/] {error}", highlight=False)
        return 2
    print_audit(result, console)
    write_html(result, args.out / "audit.html")
    console.print(f"wrote {args.out / 'audit.html'}", highlight=False)
    if args.json:
        write_json(result, args.json)
        console.print(f"wrote {args.json}", highlight=False)
    return 0 if result.kill_rate >= args.threshold else 1


def _grade_all(args: argparse.Namespace) -> int:
    # The workers start before the rest of grade-all is imported (batch/launch.py says why).
    from autograder.batch.launch import Options, early_workers

    early = early_workers(args.submissions, args.out, Options.from_args(args))
    from autograder.batch.run import main

    return main(args, early)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    if args.command == "check":
        args.pytest_args = rest  # e.g. -k <function>, -x, --nlm-timeout 3
    elif rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    try:
        return args.run(args)
    except ModuleNotFoundError as error:  # an instructor's command run from the student release
        if (error.name or "").startswith("autograder."):
            print(f"{args.command}: not available in this copy of the autograder ({error.name} is not here)")
            return 2
        raise


def run() -> NoReturn:
    """`python -m autograder` and `nlm-grade`: main(), then exit without tearing down the
    interpreter (with torch loaded that is 0.2 s of a one-submission run); output is flushed
    first and every command has closed its children and files by then."""
    code = main()
    pool = sys.modules.get("autograder.batch.pool")
    if pool is not None:
        pool.remove_fork_server_folder()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
