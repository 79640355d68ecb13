"""The one re-check of every button (``PersistentButton.admit``) cannot be declared wrong: an
unknown ``who`` or a DM button that does not check its row fails when the class is made."""

from __future__ import annotations

import pytest

from bot.cogkit.buttons import PersistentButton


def test_an_unknown_who_is_refused_when_the_class_is_made():
    with pytest.raises(TypeError, match="who"):
        class Typo(PersistentButton, custom_id="familia:test:typo:{thing_id}"):
            who = "manager"
            thing_id: int


def test_a_dm_button_must_check_its_row_is_the_clickers():
    with pytest.raises(TypeError, match="authorize"):
        class Open(PersistentButton, custom_id="familia:test:open:{guild_id}"):
            in_dm = True
            guild_id: int

    class Checked(PersistentButton, custom_id="familia:test:checked:{guild_id}"):
        in_dm = True
        guild_id: int

        async def authorize(self, interaction):
            return None

    assert Checked.in_dm
