"""Domain errors. Services raise these; the one error handler renders them per locale.

``code`` names a macro in ``templates/discord/errors/<area>.j2`` as ``"<area>.<macro>"``;
``params`` are the values the message shows (text is cut to a short excerpt when rendered:
an error repeats what someone typed, whatever its length). No sentence lives here.
"""

from __future__ import annotations

from typing import Any


class FamiliaError(Exception):
    """Base class: an expected failure with a translatable message."""

    def __init__(self, code: str, /, **params: Any) -> None:
        super().__init__(code)
        if "." not in code:
            raise ValueError(f"error code {code!r} must be '<area>.<name>'")
        self.code = code
        self.params = params

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r})"


class UserError(FamiliaError):
    """The user's input was wrong; nothing was changed."""


class NotAllowed(FamiliaError):
    """The user may not do this (role or family)."""


class NotFound(UserError):
    """The thing the user named does not exist."""
