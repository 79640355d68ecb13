"""The one refusal of the file layer: :class:`SheetError`, a :class:`~bot.errors.UserError`
whose code (``sheets.<reason>``) names a macro in ``templates/discord/errors/sheets.j2``.

A whole-file refusal (wrong type, too big, broken encoding, missing columns) is raised; a
cell's refusal (a bad number, an ambiguous date) is raised by the value parsers too, and the
caller that reads many rows catches it per row and reports it with the row's line number.
"""

from __future__ import annotations

from bot.errors import UserError


class SheetError(UserError):
    """A file or a cell Familia cannot read; ``code`` is ``sheets.<reason>``."""
