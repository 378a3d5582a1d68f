"""The one sanitiser for everything a student controls that a report shows: names and ids from
an export, file and zip member names, exception text, printed output, source code.

Each output format has its function; every renderer (terminal, Markdown, HTML, CSV) calls the one
for its format on every student-controlled string, and nothing else escapes:

- `plain`: no escape sequences (ANSI CSI, OSC such as a terminal title or hyperlink, other ESC
  sequences), no C0/C1 control characters but newline and tab, no bidirectional overrides
  (which reorder what a reader sees); the base of every other function.
- `terminal`: `plain`, with rich's markup escaped, for text printed through rich with markup on.
- `html`: `plain`, HTML-escaped (quotes too, so it is safe in attribute values).
- `markdown`: `plain` on one line, with Markdown's punctuation and HTML's brackets escaped, for a
  heading, a list item or a table cell; `fenced` for a verbatim block.
- `csv_cell`: `plain`, and a cell beginning with = + - @ | % a tab or a carriage return starts with
  an apostrophe, so a spreadsheet shows it as text instead of running it as a formula (OWASP's
  rule; numbers such as -1.5 are left alone). defusedcsv has the same rule but leaves a leading
  tab or carriage return as it is and rewrites "|" inside text, hence this one line.
"""

from __future__ import annotations

import html as _html
import re


# ESC [ ... final byte (CSI), ESC ] ... BEL or ESC \ (OSC), ESC P/X/^/_ ... ESC \ (DCS, SOS, PM,
# APC), then any other two-byte ESC sequence; the 8-bit CSI/OSC/DCS introducers likewise.
_ESCAPES = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"
    r"|(?:\x1b\]|\x9d)[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|(?:\x1b[PX^_]|[\x90\x98\x9e\x9f])[^\x1b\x9c]*(?:\x1b\\|\x9c)?"
    r"|\x1b[ -/]*[0-~]?")
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# Inline markup. Brackets are escaped, so "(" and "!" can start no link or image; "1." "-" "+"
# matter only at a line's start, where no caller puts student text.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]#|~])")
_FORMULA_START = ("=", "+", "-", "@", "|", "%", "\t", "\r")
_NUMBER = re.compile(r"^-?[0-9][0-9,.]*(?:e[-+]?[0-9]+)?$", re.IGNORECASE)
_BACKTICKS = re.compile(r"`+")


def plain(text: object) -> str:
    """`text` without escape sequences, control characters (but newline and tab) or bidi overrides;
    a carriage return that does not end a line becomes a newline (it would overwrite the line)."""
    text = str(text).replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROLS.sub("", _ESCAPES.sub("", text))


def one_line(text: object) -> str:
    """`plain`, with every run of whitespace (newlines too) one space."""
    return " ".join(plain(text).split())


def terminal(text: object) -> str:
    """Safe inside a string rich prints with markup on: plain, its [markup] escaped."""
    from rich.markup import escape  # (here: listing the submissions needs no rich)

    return escape(plain(text))


def html(text: object) -> str:
    """Safe as HTML element text or a quoted attribute value."""
    return _html.escape(plain(text), quote=True)


def markdown(text: object) -> str:
    """Safe on one Markdown line (a heading, a list item, a table cell): nothing in it is markup."""
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", one_line(text))
    return escaped.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def fenced(text: object, info: str = "text") -> str:
    """A fenced Markdown code block holding `text` verbatim: the fence is longer than any backtick
    run inside, so nothing in it can close the block."""
    text = plain(text)
    longest = max((len(m.group()) for m in _BACKTICKS.finditer(text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{text.rstrip()}\n{fence}"


def csv_cell(text: object) -> str:
    """A CSV cell a spreadsheet shows as text: a leading formula character gets an apostrophe."""
    text = plain(text)
    if text.startswith(_FORMULA_START) and not _NUMBER.match(text):
        return "'" + text
    return text
