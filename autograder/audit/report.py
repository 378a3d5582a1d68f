"""The audit's reports: a terminal table, audit.html (every survivor's diff and the checks that
ran) and a JSON summary with a top-level `kill_rate` for machines."""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any

from autograder.audit.run import AuditResult, Outcome


def _rate(killed: int, made: int, equivalent: int) -> str:
    scored = made - equivalent
    return f"{100 * killed / scored:.1f}%" if scored else "-"


def print_audit(result: AuditResult, console: Any) -> None:
    """Per function: made, killed, equivalent, surviving, kill rate; then each survivor's diff."""
    from rich.table import Table

    table = Table(title="Audit: mutants of the solutions against every check", title_justify="left")
    for column in ("function", "made", "killed", "equivalent", "surviving", "kill rate"):
        table.add_column(column, justify="left" if column == "function" else "right")
    for name, counts in result.by_function().items():
        table.add_row(name, *(str(counts[k]) for k in ("made", "killed", "equivalent", "surviving")),
                      _rate(counts["killed"], counts["made"], counts["equivalent"]))
    table.add_row("all", str(len(result.outcomes)), str(result.count("killed")), str(result.count("equivalent")),
                  str(result.count("survived")), f"{100 * result.kill_rate:.1f}%", style="bold")
    table.caption = (f"kill rate over non-equivalent mutants {100 * result.kill_rate:.1f}%; "
                     f"{result.graded} graded this run; {result.seconds:g} s")
    console.print(table)
    for o in (o for o in result.outcomes if o.status == "survived"):
        console.print(f"[bold red]survivor[/] {o.mutant.id} ({o.mutant.function}, line {o.mutant.line}): "
                      f"{o.differs}", highlight=False)
        console.print(o.mutant.diff.rstrip(), markup=False, highlight=False)


def audit_json(result: AuditResult) -> dict[str, Any]:
    def entry(o: Outcome) -> dict[str, Any]:
        return {"id": o.mutant.id, "function": o.mutant.function, "operator": o.mutant.operator,
                "line": o.mutant.line, "diff": o.mutant.diff, "differs": o.differs}

    return {"kill_rate": round(result.kill_rate, 6), "made": len(result.outcomes),
            "killed": result.count("killed"), "equivalent": result.count("equivalent"),
            "surviving": result.count("survived"), "graded": result.graded, "seconds": result.seconds,
            "functions": result.by_function(),
            "operators": {name: sum(o.mutant.operator == name for o in result.outcomes)
                          for name in dict.fromkeys(o.mutant.operator for o in result.outcomes)},
            "survivors": [entry(o) for o in result.outcomes if o.status == "survived"],
            "equivalent_mutants": [entry(o) for o in result.outcomes if o.status == "equivalent"]}


def write_json(result: AuditResult, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(audit_json(result), indent=2), encoding="utf-8")


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 72em; color: #222; }
h2 { margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.92em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
pre { background: #f7f7f7; padding: 0.6em; overflow-x: auto; } .muted { color: #777; }
.survived { color: #b52a1c; } .passed { color: #2d7a2d; }
"""


def _mutant_html(o: Outcome) -> str:
    checks = "".join(f"<li>{escape(c.name)} <span class=muted>({'visible' if c.visible else 'hidden'}, "
                     f"{'passed' if c.passed else 'failed'})</span></li>" for c in o.checks)
    told = f"<p>Told apart from the solutions by {escape(o.differs)}</p>" if o.differs else ""
    return (f"<h4>{escape(o.mutant.id)} <span class=muted>({escape(o.mutant.operator)}, line {o.mutant.line})"
            f"</span></h4>{told}<pre>{escape(o.mutant.diff)}</pre>"
            f"<p>Checks that ran on {escape(o.mutant.function)}:</p><ul>{checks}</ul>")


def audit_html(result: AuditResult) -> str:
    rows = "".join(
        f"<tr><td>{escape(name)}</td>" + "".join(f"<td class=num>{c[k]}</td>" for k in
                                                 ("made", "killed", "equivalent", "surviving"))
        + f"<td class=num>{_rate(c['killed'], c['made'], c['equivalent'])}</td></tr>"
        for name, c in result.by_function().items())
    sections = []
    for name in result.functions():
        mine = [o for o in result.outcomes if o.mutant.function == name]
        survivors = "".join(_mutant_html(o) for o in mine if o.status == "survived") or \
            "<p class=passed>No survivor: every non-equivalent mutant lost points.</p>"
        equivalent = "".join(f"<li>{escape(o.mutant.id)} ({escape(o.mutant.operator)}, line {o.mutant.line})"
                             f"<pre>{escape(o.mutant.diff)}</pre></li>" for o in mine if o.status == "equivalent")
        sections.append(f"<h2>{escape(name)}</h2><h3 class=survived>Surviving mutants</h3>{survivors}"
                        + (f"<details><summary>Equivalent mutants (left out of the kill rate)</summary>"
                           f"<ul>{equivalent}</ul></details>" if equivalent else ""))
    return (f"<!doctype html><html><head><meta charset=utf-8><title>Audit of the checks</title>"
            f"<style>{_STYLE}</style></head><body><h1>Audit: how strong are the checks</h1>"
            f"<p>Kill rate over non-equivalent mutants: <b>{100 * result.kill_rate:.1f}%</b> "
            f"({result.count('killed')} killed of {len(result.outcomes) - result.count('equivalent')}; "
            f"{result.count('equivalent')} equivalent, {result.count('survived')} surviving; "
            f"{result.seconds:g} s).</p><table><tr><th>function</th><th>made</th><th>killed</th>"
            f"<th>equivalent</th><th>surviving</th><th>kill rate</th></tr>{rows}</table>"
            + "".join(sections) + "</body></html>")


def write_html(result: AuditResult, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(audit_html(result), encoding="utf-8")
