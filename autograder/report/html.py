"""The class summary as one self-contained HTML page (plots embedded as base64 PNGs)."""

from __future__ import annotations

import base64
import io
import os
from datetime import datetime
from html import escape
from pathlib import Path
from urllib.parse import quote

from autograder.report.gradebook import ClassSummary, Row

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 72em; color: #222; }
h1 { font-size: 1.6em; } h2 { margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.92em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.error td, tr.rejected td { background: #fdecea; } tr.empty td { background: #f7f7f7; }
.bar { display: inline-block; height: 0.8em; background: #d9534f; }
img { max-width: 100%; }
.muted { color: #777; }
"""


def _png(figure) -> str:
    """A matplotlib figure as an <img> with the PNG inline."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(figure)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="plot" src="data:image/png;base64,{data}">'


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)  # no display: render to memory only
    import matplotlib.pyplot as plt

    return plt


def histogram(summary: ClassSummary) -> str:
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(8, 3.6))
    top = max(summary.max_score, max(summary.totals, default=0.0), 1.0)
    width = 5.0 if top > 20 else 1.0
    edges = [i * width for i in range(int(top // width) + 2)]
    axes.hist(summary.totals, bins=edges, color="#4a7ab5", edgecolor="white")
    if summary.totals:
        mean = summary.stat("mean")
        axes.axvline(mean, color="#d9534f", linestyle="--", label=f"mean {mean:.1f}")
        axes.legend()
    axes.set_xlabel(f"total score (out of {summary.max_score:g})")
    axes.set_ylabel("submissions")
    axes.set_title(f"Distribution of totals ({summary.graded} graded submissions)")
    axes.yaxis.get_major_locator().set_params(integer=True)
    return _png(figure)


def failure_chart(summary: ClassSummary, limit: int = 40) -> str:
    plt = _pyplot()
    checks = [c for c in summary.checks if c.did_not_pass][:limit]
    if not checks:
        return '<p class="muted">No check failed.</p>'
    figure, axes = plt.subplots(figsize=(9, 0.8 + 0.28 * len(checks)))
    labels = [c.name if len(c.name) <= 70 else c.name[:69] + "…" for c in checks][::-1]
    left = [0.0] * len(checks)
    for attribute, label, color in (("failed", "wrong answer", "#d9534f"), ("crashed", "crashed or timed out", "#f0ad4e"),
                                    ("not_attempted", "not attempted", "#aaaaaa")):
        widths = [100 * getattr(c, attribute) / c.graded if c.graded else 0.0 for c in checks][::-1]
        axes.barh(range(len(checks)), widths, left=left, color=color, label=label)
        left = [a + b for a, b in zip(left, widths)]
    axes.set_yticks(range(len(checks)), labels, fontsize=8)
    axes.set_xlim(0, 100)
    axes.legend(loc="lower right", fontsize=8)
    axes.set_xlabel("% of graded submissions that did not pass")
    axes.set_title("Which checks do students fail most")
    return _png(figure)


def _rate_bar(rate: float) -> str:
    return f'<span class="bar" style="width:{100 * rate:.0f}px"></span> {100 * rate:.0f}%'


def summary_html(summary: ClassSummary, rows: list[Row], title: str = "Autograder class summary") -> str:
    """The page: overview, histogram of totals, per-function means, check failure rates, roster."""
    parts = [f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{escape(title)}</title>",
             f"<style>{_STYLE}</style></head><body>", f"<h1>{escape(title)}</h1>",
             f'<p class="muted">Generated {escape(datetime.now().strftime("%Y-%m-%d %H:%M"))}.</p>']

    statuses = ", ".join(f"{n} {escape(s)}" for s, n in summary.statuses.items() if n)
    parts.append("<h2>Overview</h2><table>")
    overview = [("students", str(summary.students)), ("statuses", statuses or "none"),
                ("graded submissions", str(summary.graded)), ("maximum score", f"{summary.max_score:g}")]
    if summary.totals:
        overview += [(name, f"{summary.stat(name):.2f}") for name in ("mean", "median", "stdev", "min", "max")]
    parts += [f"<tr><th>{escape(k)}</th><td>{v}</td></tr>" for k, v in overview]
    parts.append("</table>")

    parts.append("<h2>Distribution of totals</h2>")
    parts.append(histogram(summary) if summary.totals else '<p class="muted">Nothing was graded.</p>')

    parts.append("<h2>Scores by function</h2><table><tr><th>function</th><th>mean</th><th>max</th>"
                 "<th>full marks</th></tr>")
    for f in summary.functions:
        name = escape(f.qualname) + (" (bonus)" if f.bonus else "")
        parts.append(f'<tr><td><code>{name}</code></td><td class="num">{f.mean:.2f}</td>'
                     f'<td class="num">{f.max_score:g}</td><td class="num">{f.full_marks} / {f.graded}</td></tr>')
    parts.append("</table>")

    parts.append("<h2>Which checks do students fail most</h2>")
    parts.append(failure_chart(summary) if summary.totals else "")
    parts.append("<table><tr><th>check</th><th>points</th><th>did not pass</th><th>wrong</th>"
                 "<th>not attempted</th><th>crashed or timed out</th></tr>")
    for c in summary.checks:
        hidden = "" if c.visible else ' <span class="muted">(hidden)</span>'
        parts.append(f"<tr><td>{escape(c.name)}{hidden}</td><td class=\"num\">{c.max_score:g}</td>"
                     f"<td>{_rate_bar(c.failure_rate)} ({c.did_not_pass} / {c.graded})</td>"
                     f'<td class="num">{c.failed}</td><td class="num">{c.not_attempted}</td>'
                     f'<td class="num">{c.crashed}</td></tr>')
    parts.append("</table>")

    parts.append("<h2>Students</h2><table><tr><th>student id</th><th>name</th><th>status</th>"
                 "<th>total</th><th>note</th></tr>")
    for row in sorted(rows, key=lambda r: r.student_id):
        link = f"students/{quote(row.student_id)}/feedback.md"
        parts.append(f'<tr class="{escape(row.status)}"><td><a href="{escape(link, quote=True)}">'
                     f"{escape(row.student_id)}</a></td><td>{escape(row.name)}</td><td>{escape(row.status)}</td>"
                     f'<td class="num">{row.score:g} / {row.max_score:g}</td><td>{escape(row.note)}</td></tr>')
    parts.append("</table></body></html>\n")
    return "\n".join(parts)


def write_summary_html(summary: ClassSummary, rows: list[Row], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(summary_html(summary, rows), encoding="utf-8")
    os.replace(tmp, path)
