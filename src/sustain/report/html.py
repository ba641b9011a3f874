"""HTML reports: one self-contained page per report (no network needed).

A plain writer: the title, text and tables of a :class:`~sustain.report.model.Report`;
charts are listed by title.
"""

from __future__ import annotations

import html

from sustain.report.model import Block, Report, Table, Text


def _block(block: Block) -> str:
    if isinstance(block, Text):
        return f"<pre>{html.escape(block.markdown)}</pre>"
    if isinstance(block, Table):
        head = "".join(f"<th>{html.escape(c.heading)}</th>" for c in block.columns)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in row) + "</tr>"
            for row in block.text_rows()
        )
        caption = f"<caption>{html.escape(block.title)}</caption>" if block.title else ""
        return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    return f"<p>Chart: {html.escape(block.title)}</p>"


def to_html(report: Report) -> str:
    """``report`` as one HTML page."""
    parts = [f"<h1>{html.escape(report.title)}</h1>", *(_block(b) for b in report.intro)]
    for section in report.sections:
        parts.append(f"<h2>{html.escape(section.title)}</h2>")
        parts += [_block(b) for b in section.blocks]
    return ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(report.title)}</title></head><body>\n"
            + "\n".join(parts) + "\n</body></html>\n")
