"""similarity.html: the pairs of submissions whose code is alike, most alike first, each
function's two sources side by side (lines the other source also has are marked); past the
first 50 pairs, the rest in a table."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from autograder.report.html import page
from autograder.report.sanitize import html as esc

SIDE_BY_SIDE = 50  # pairs shown with their sources; the rest listed (a class of copies stays readable)

_SIDE_STYLE = ("<style>.sides { display: grid; grid-template-columns: 1fr 1fr; gap: 0.5em; } "
               ".sides pre { margin: 0; font-size: 0.85em; overflow-x: auto; } .same { background: #ffe8a1; }</style>")


# A class of near copies repeats the same lines across its pairs: each is escaped once.
_escaped = lru_cache(maxsize=2**16)(esc)


def _marked(lines: list[str], same: set[int]) -> str:
    return "\n".join(f'<span class="same">{_escaped(line)}</span>' if i in same else _escaped(line)
                     for i, line in enumerate(lines))


def side_by_side(a: str, b: str) -> str:
    """Two sources in two columns; lines matched between them (ignoring indentation) highlighted."""
    la, lb = a.splitlines(), b.splitlines()
    matcher = difflib.SequenceMatcher(None, [x.strip() for x in la], [x.strip() for x in lb], autojunk=False)
    same_a, same_b = set(), set()
    for block in matcher.get_matching_blocks():
        same_a.update(range(block.a, block.a + block.size))
        same_b.update(range(block.b, block.b + block.size))
    return f'<div class="sides"><pre>{_marked(la, same_a)}</pre><pre>{_marked(lb, same_b)}</pre></div>'


def similarity_html(pairs: Sequence[Any], names: dict[str, str], sources: dict[str, dict[str, str]],
                    threshold: float, compared: int) -> str:
    """The page for batch.similarity's pairs; `names` gives each submission key its students."""
    body = [_SIDE_STYLE, "<h1>Similar submissions</h1>",
            f'<p class="muted">{compared} submissions compared (the starter code left out); pairs at least '
            f"{100 * threshold:.0f}% alike (Jaccard index of winnowing fingerprints; renamed variables and "
            "comments do not count). A high score is a reason to look, not a verdict.</p>"]
    if not pairs:
        body.append('<p id="no-pairs">No pair reached the threshold.</p>')
    for n, pair in enumerate(pairs[:SIDE_BY_SIDE], start=1):
        who_a, who_b = esc(names.get(pair.a, pair.a)), esc(names.get(pair.b, pair.b))
        body.append(f'<section class="pair" id="pair-{n}"><h2>{who_a} and {who_b}: {100 * pair.score:.0f}%</h2>')
        for function, score in pair.functions.items():
            if score <= 0:
                continue
            body.append(f"<h3><code>{esc(function)}</code>: {100 * score:.0f}%</h3>")
            body.append(side_by_side(sources[pair.a].get(function, ""), sources[pair.b].get(function, "")))
        body.append("</section>")
    if len(pairs) > SIDE_BY_SIDE:
        body.append(f'<section id="more-pairs"><h2>{len(pairs) - SIDE_BY_SIDE} more pairs</h2><table>'
                    "<thead><tr><th>submissions</th><th>alike</th></tr></thead><tbody>")
        body += [f"<tr><td>{esc(names.get(p.a, p.a))} and {esc(names.get(p.b, p.b))}</td>"
                 f'<td class="num">{100 * p.score:.0f}%</td></tr>' for p in pairs[SIDE_BY_SIDE:]]
        body.append("</tbody></table></section>")
    return page("Similar submissions", body)
