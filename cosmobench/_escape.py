"""Escaping of untrusted strings for each output format, in one place.

Every string that reaches a leaderboard, a report or a file name may come from a result file written
by anybody (model names, checkpoint paths, track descriptions, ``info["trained"]``...). It is data,
never markup: these helpers make it render as the literal text in Markdown, HTML, CSV and file names.
Writers call them on every field, not only the ones that "could" hold markup.
"""

from __future__ import annotations

import html as _html
import re
import unicodedata
from typing import Any

__all__ = ["md_cell", "md_code", "md_text", "html_text", "csv_cell", "filename_component"]

# Control characters (C0, DEL, C1) and the Unicode line/paragraph separators: all of them can end a
# Markdown table row or a heading line in some renderer.
_LINE_BREAKS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u0085]+")
# Characters that open inline markup (code, emphasis, links, strike-through) or end a table cell.
# Line-start markup (#, -, +, 1.) needs no escape: md_text never lets a value start a line.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


def _one_line(s: Any) -> str:
    """``str(s)`` on one line: every run of line breaks / control characters becomes one space."""
    return _LINE_BREAKS.sub(" ", str(s)).strip()


def html_text(s: Any) -> str:
    """Text for HTML element content or a quoted attribute: ``& < > " '`` become entities."""
    return _html.escape(str(s), quote=True)


def md_text(s: Any) -> str:
    """One line of literal text for Markdown prose (headings, paragraphs, table cells).

    Line breaks (``\\n``, a bare ``\\r``, U+2028...) become spaces, so a value cannot start a heading
    or a new table row; HTML is entity-escaped, so ``<script>`` shows as text; Markdown punctuation
    (backticks, pipes, brackets, emphasis) is backslash-escaped, so nothing opens a code span, link
    or cell.
    """
    return _MD_SPECIAL.sub(r"\\\1", html_text(_one_line(s)))


def md_cell(s: Any) -> str:
    """A Markdown table cell: :func:`md_text` (pipes included) of ``s``; empty becomes ``—``."""
    out = md_text(s)
    return out if out else "—"


def md_code(s: Any) -> str:
    """``s`` as inline code in Markdown prose (headings, paragraphs; table cells use :func:`md_cell`).

    A code span cannot be escaped from inside, so the fence is one backtick longer than the longest
    run of backticks in the value (CommonMark's rule), and line breaks become spaces so the value
    cannot end the line. A value holding ``<``, ``>`` or ``&`` is written as escaped plain text
    instead (:func:`md_text`): not every Markdown-to-HTML converter keeps raw HTML out of code spans.
    """
    text = _one_line(s)
    if not text:
        return "—"
    if any(ch in text for ch in "<>&"):
        return md_text(text)
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def csv_cell(s: Any) -> Any:
    """A CSV value that a spreadsheet cannot run as a formula.

    Strings starting with ``= + - @``, a tab or a carriage return are prefixed with ``'`` (OWASP's
    CSV-injection rule), except plain numbers such as ``-1.5``, which stay numbers. Non-strings are
    returned unchanged (pandas writes numbers itself).
    """
    if not isinstance(s, str):
        return s
    if s and s[0] in "=+-@\t\r":
        try:
            float(s)
            return s
        except ValueError:
            return "'" + s
    return s


def filename_component(s: Any, *, fallback: str = "unnamed", max_len: int = 100) -> str:
    """A safe single path component: ASCII letters, digits, ``.``, ``-``, ``_`` only.

    Every other run of characters (``/``, ``\\``, spaces, line breaks, ``..``, non-ASCII) becomes one
    ``-``; leading/trailing dots and dashes are dropped, so the result is never hidden, never ``..``
    and never empty. Long names are cut to ``max_len`` characters.
    """
    text = unicodedata.normalize("NFKD", str(s)).encode("ascii", "ignore").decode("ascii")
    out = re.sub(r"[^A-Za-z0-9._-]+", "-", text)
    out = re.sub(r"\.{2,}", ".", out).strip("-.")[:max_len].strip("-.")
    return out or fallback
