"""The class summary as one self-contained HTML page (the histogram an inline SVG, sorting a
few lines of inline script): who needs attention first, then every student (sortable, per-part
bars, each linking to their feedback page), then the item analysis (per function, each
function's checks on demand). Every student-controlled string goes through the sanitiser.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from urllib.parse import quote

from autograder.registry import Course
from autograder.report.attention import Attention, attention_list
from autograder.report.gradebook import ClassSummary, Row, part_points
from autograder.report.sanitize import html as esc
from autograder.report.write import write_text

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 80em; color: #222; padding: 0 1em; }
h1 { font-size: 1.6em; } h2 { margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.92em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.sortable th { cursor: pointer; } table.sortable th:after { content: " \\2195"; color: #aaa; }
tr.error td, tr.rejected td { background: #fdecea; } tr.empty td { background: #f7f7f7; }
.tag { display: inline-block; padding: 0 0.4em; margin-right: 0.2em; border-radius: 0.3em; background: #eee; }
.tag.error, .tag.rejected, .tag.timed-out { background: #f5c6cb; } .tag.late { background: #ffe8a1; }
.tag.similar { background: #d6c8ff; } .tag.overridden { background: #c8e6ff; } .tag.zero { background: #ddd; }
.bar { display: inline-block; height: 0.8em; background: #d9534f; }
.pbar { display: inline-block; width: 4em; height: 0.7em; background: #eee; margin-right: 0.3em; }
.pbar span { display: block; height: 100%; background: #4a7ab5; }
img { max-width: 100%; } .muted { color: #777; } details { margin: 0.2em 0 0.8em 1em; }
pre { white-space: pre-wrap; background: #f7f7f7; padding: 0.5em; }
"""

_SORT_SCRIPT = """
document.querySelectorAll("table.sortable").forEach(function (table) {
  table.querySelectorAll("thead th").forEach(function (th, col) {
    th.addEventListener("click", function () {
      var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
      var dir = th.dataset.dir === "asc" ? -1 : 1;
      th.dataset.dir = dir === 1 ? "asc" : "desc";
      rows.sort(function (a, b) {
        var x = a.cells[col].dataset.v || a.cells[col].textContent;
        var y = b.cells[col].dataset.v || b.cells[col].textContent;
        var nx = parseFloat(x), ny = parseFloat(y);
        return dir * (!isNaN(nx) && !isNaN(ny) ? nx - ny : x.localeCompare(y));
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
});
document.documentElement.dataset.sortable = "ready";
"""


def page(title: str, body: list[str], script: str = "") -> str:
    """A self-contained HTML page (no external resource) around `body`; `title` is escaped here."""
    tail = f"<script>{script}</script>" if script else ""
    return "\n".join([f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>',
                      f"<style>{STYLE}</style></head><body>", *body, f"{tail}</body></html>\n"])


def histogram(summary: ClassSummary, width: int = 640, height: int = 220) -> str:
    """The distribution of totals as an inline SVG bar chart (bins of 5 points, the mean dashed):
    drawn here in a few lines rather than by a plotting library, which would take longer to
    import than the whole summary takes to write."""
    top = max(summary.max_score, max(summary.totals, default=0.0), 1.0)
    step = 5.0 if top > 20 else 1.0
    bins = [0] * (int(top // step) + 1)
    for total in summary.totals:
        bins[min(int(total // step), len(bins) - 1)] += 1
    tallest, left, bottom = max(bins + [1]), 40, height - 30
    bar = (width - left - 10) / len(bins)
    parts = [f'<svg class="histogram" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}">',
             f"<title>Distribution of totals ({summary.graded} graded submissions)</title>"]
    for i, count in enumerate(bins):
        h = (bottom - 10) * count / tallest
        x = left + i * bar
        parts.append(f'<rect x="{x:.1f}" y="{bottom - h:.1f}" width="{bar - 1:.1f}" height="{h:.1f}" fill="#4a7ab5">'
                     f"<title>{i * step:g}-{(i + 1) * step:g}: {count}</title></rect>")
        if i % max(1, len(bins) // 10) == 0:
            parts.append(f'<text x="{x:.1f}" y="{bottom + 14}" font-size="11">{i * step:g}</text>')
    parts.append(f'<text x="2" y="20" font-size="11">{tallest}</text>'
                 f'<line x1="{left}" y1="{bottom}" x2="{width - 10}" y2="{bottom}" stroke="#888"/>')
    if summary.totals:
        mean = summary.stat("mean")
        x = left + mean / step * bar
        parts.append(f'<line x1="{x:.1f}" y1="10" x2="{x:.1f}" y2="{bottom}" stroke="#d9534f" stroke-dasharray="4 3"/>'
                     f'<text x="{x + 4:.1f}" y="20" font-size="11" fill="#d9534f">mean {mean:.1f}</text>')
    parts.append(f'<text x="{left}" y="{height - 4}" font-size="11">total score (out of {summary.max_score:g})</text></svg>')
    return "".join(parts)


def feedback_link(row: Row) -> str:
    """The row's HTML feedback page, relative to the reports folder."""
    return f"students/{quote(row.folder or row.student_id)}/feedback.html"


def _student(row: Row) -> str:
    return f'<a class="feedback" href="{esc(feedback_link(row))}">{esc(row.student_id)}</a>'


def _tags(entry: Attention) -> str:
    return "".join(f'<span class="tag {esc(tag.replace(" ", "-"))}">{esc(tag)}</span>' for tag, _ in entry.reasons)


def attention_section(rows: list[Row], similarity_page: str = "") -> list[str]:
    entries = attention_list(rows)
    out = [f'<section id="attention"><h2>Needs attention ({len(entries)})</h2>']
    if not entries:
        return out + ['<p class="muted">Nobody: every submission was graded, on time, untouched and unlike the others.</p></section>']
    out.append('<table id="attention-list"><thead><tr><th>student</th><th>name</th><th>status</th><th>why</th>'
               '<th>total</th></tr></thead><tbody>')
    for e in entries:
        out.append(f'<tr class="{esc(e.row.status)}" data-student="{esc(e.row.student_id)}"><td>{_student(e.row)}</td>'
                   f"<td>{esc(e.row.name)}</td><td>{_tags(e)}</td><td>{esc(e.why)}</td>"
                   f'<td class="num">{e.row.score:g} / {e.row.max_score:g}</td></tr>')
    out.append("</tbody></table>")
    if similarity_page:
        out.append(f'<p>Similar pairs, their code side by side: <a href="{esc(similarity_page)}">{esc(similarity_page)}</a>.</p>')
    return out + ["</section>"]


def _part_bar(score: float, top: float) -> str:
    width = 100 * score / top if top else 0
    return (f'<td class="num" data-v="{score:g}"><span class="pbar"><span style="width:{width:.0f}%"></span></span>'
            f"{score:g}</td>")


def students_section(course: Course, rows: list[Row]) -> list[str]:
    parts = [p for p in course.parts if any(f.points for f in course.in_part(p))]
    tops = {p.module: sum(f.points for f in course.in_part(p)) for p in parts}
    head = "".join(f"<th>{esc(p.module)} /{tops[p.module]:g}</th>" for p in parts)
    out = ['<section id="students-section"><h2>Students</h2>',
           '<p class="muted">Click a column to sort. Points are out of the assignment\'s points, the bonus apart; '
           "totals are after the late penalty and overrides.</p>",
           '<table id="students" class="sortable"><thead><tr><th>student</th><th>name</th><th>status</th>'
           f"{head}<th>points</th><th>bonus</th><th>late</th><th>total</th><th>note</th></tr></thead><tbody>"]
    for row in sorted(rows, key=lambda r: r.student_id):
        final = row.final
        points = part_points(course, final) if final else {}
        late = (f'{row.late.days:.2f} d, -{100 * row.late.penalty:g}%' if row.late and row.late.is_late else "")
        out.append(f'<tr class="{esc(row.status)}"><td>{_student(row)}</td><td>{esc(row.name)}</td>'
                   f"<td>{esc(row.status)}</td>"
                   + "".join(_part_bar(points.get(p.module, 0.0), tops[p.module]) for p in parts)
                   + f'<td class="num">{final.points:g}</td><td class="num">{final.bonus:g}</td>'
                   f'<td class="num" data-v="{row.late.days if row.late else 0:g}">{esc(late)}</td>'
                   f'<td class="num">{row.score:g}</td><td>{esc(row.note)}</td></tr>')
    out.append("</tbody>")
    graded = [r for r in rows if r.status == "graded" and r.final]
    if graded:
        mean = lambda values: sum(values) / len(values)  # noqa: E731
        cells = "".join(f'<td class="num">{mean([part_points(course, r.final)[p.module] for r in graded]):.1f}</td>'
                        for p in parts)
        out.append(f'<tfoot><tr><th colspan="3">mean of {len(graded)} graded</th>{cells}'
                   f'<td class="num">{mean([r.final.points for r in graded]):.1f}</td>'
                   f'<td class="num">{mean([r.final.bonus for r in graded]):.1f}</td><td></td>'
                   f'<td class="num">{mean([r.score for r in graded]):.1f}</td><td></td></tr></tfoot>')
    return out + ["</table></section>"]


def _rate_bar(rate: float) -> str:
    return f'<span class="bar" style="width:{100 * rate:.0f}px"></span> {100 * rate:.0f}%'


def items_section(summary: ClassSummary) -> list[str]:
    """Per function (mean, full marks), each with its checks' failure rates behind a <details>."""
    out = ['<section id="items"><h2>Item analysis</h2>',
           '<p class="muted">Per function over the graded submissions, as the checks found them (before '
           "penalties and overrides); open a function for its checks, most failed first.</p>",
           '<table id="functions"><thead><tr><th>function</th><th>max</th><th>mean</th><th>full marks</th>'
           "<th>checks</th></tr></thead><tbody>"]
    for f in summary.functions:
        checks = [c for c in summary.checks if c.function == f.qualname]
        rows = "".join(f'<tr><td>{esc(c.name)}{"" if c.visible else " <span class=muted>(hidden)</span>"}</td>'
                       f'<td class="num">{c.max_score:g}</td><td>{_rate_bar(c.failure_rate)} '
                       f'({c.did_not_pass} / {c.graded})</td><td class="num">{c.failed}</td>'
                       f'<td class="num">{c.not_attempted}</td><td class="num">{c.crashed}</td></tr>' for c in checks)
        details = (f"<details><summary>{len(checks)} checks</summary><table><thead><tr><th>check</th><th>points</th>"
                   "<th>did not pass</th><th>wrong</th><th>not attempted</th><th>crashed or timed out</th></tr>"
                   f"</thead><tbody>{rows}</tbody></table></details>")
        share = f.mean / f.max_score if f.max_score else 0.0
        out.append(f'<tr><td><code>{esc(f.qualname)}</code>{" (bonus)" if f.bonus else ""}</td>'
                   f'<td class="num">{f.max_score:g}</td><td><span class="pbar"><span style="width:{100 * share:.0f}%">'
                   f'</span></span>{f.mean:.2f}</td><td class="num">{f.full_marks} / {f.graded}</td><td>{details}</td></tr>')
    return out + ["</tbody></table></section>"]


def overview_section(summary: ClassSummary) -> list[str]:
    statuses = ", ".join(f"{n} {esc(s)}" for s, n in summary.statuses.items() if n)
    facts = [("students", str(summary.students)), ("statuses", statuses or "none"),
             ("graded submissions", str(summary.graded)), ("maximum score", f"{summary.max_score:g}")]
    if summary.totals:
        facts += [(name, f"{summary.stat(name):.2f}") for name in ("mean", "median", "stdev", "min", "max")]
    out = ['<section id="overview"><h2>Overview</h2><table>']
    out += [f"<tr><th>{esc(k)}</th><td>{v}</td></tr>" for k, v in facts] + ["</table>"]
    out.append(histogram(summary) if summary.totals else '<p class="muted">Nothing was graded.</p>')
    return out + ["</section>"]


def summary_html(course: Course, summary: ClassSummary, rows: list[Row], title: str = "Autograder class summary",
                 similarity_page: str = "") -> str:
    """The page: attention list, students, overview with the histogram of totals, item analysis."""
    body = [f"<h1>{esc(title)}</h1>",
            f'<p class="muted">Generated {esc(datetime.now().strftime("%Y-%m-%d %H:%M"))}; '
            f"{summary.students} students.</p>"]
    body += attention_section(rows, similarity_page) + students_section(course, rows)
    body += overview_section(summary) + items_section(summary)
    return page(title, body, _SORT_SCRIPT)


def write_summary_html(course: Course, summary: ClassSummary, rows: list[Row], path: Path,
                       similarity_page: str = "") -> None:
    write_text(path, summary_html(course, summary, rows, similarity_page=similarity_page))
