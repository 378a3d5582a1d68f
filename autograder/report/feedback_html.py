"""A student's feedback as an HTML page, beside its Markdown: the same text, rendered by
markdown-it with raw HTML off (the Markdown's student-controlled parts are already escaped, and
whatever HTML might remain is shown as text, never run)."""

from __future__ import annotations

from functools import cache
from typing import Any

from autograder.report.html import page


@cache
def _markdown() -> Any:
    """The renderer, made on first use: a re-run that rewrites no feedback never imports it."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False}).enable("table")


def feedback_page(markdown_text: str, title: str) -> str:
    """The HTML page of a feedback Markdown file, with a link back to the class summary."""
    back = '<p><a href="../../summary.html">← class summary</a></p>'
    return page(title, [back, _markdown().render(markdown_text)])
