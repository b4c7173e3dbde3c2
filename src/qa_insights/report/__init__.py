"""The stakeholder theme report (HTML, Markdown, Jupyter) built from a run's tables.

Public API: :class:`ThemeReport` (``html()``, ``markdown()``, ``write_html()``,
``write_markdown()``, ``_repr_html_``), :func:`format_attributes` (readable root-cause
attributes) and :func:`md_escape` (Markdown escaping of untrusted text).
"""

from ._report import MdSafe, ThemeReport, format_attributes, md_escape

__all__ = ["ThemeReport", "format_attributes", "md_escape", "MdSafe"]
