"""Buttons already posted must keep working after a restart and after any refactoring: each
restart-proof button is rebuilt from its custom_id alone, to the very same custom_id."""

from __future__ import annotations

import discord
import pytest

from cogs._family_views import AgreeButton, DecideButton, JoinButton, LeaveSelect
from cogs.broadcasts import CancelButton, ConfirmButton
from cogs.campaigns import (
    DiscardButton,
    EnrolButton,
    ProgressButton,
    ResultsButton,
    ScheduleButton,
)
from cogs.campaigns import ListPage as CampaignListPage
from cogs.checkins import CheckinsPage, FeedbackButton
from cogs.families import HistoryPage, ListPage, RosterPage
from cogs.leaderboards import FamiliesPage, PageButton
from cogs.me import DeleteConfirm
from cogs.progress import RiskPage

POSTED = [
    (DecideButton, "familia:req:y:111:42", "Approve"),
    (DecideButton, "familia:req:n:111:42", "Decline"),
    (JoinButton, "familia:join:111:7:2", "Join"),
    (AgreeButton, "familia:agree:111:2", "Accept"),
    (LeaveSelect, "familia:leave:reason:31:1", None),
    (ConfirmButton, "familia:bc:confirm:9", "Send"),
    (CancelButton, "familia:bc:cancel:9", None),
    (ScheduleButton, "familia:cp:schedule:3", "Schedule"),
    (DiscardButton, "familia:cp:discard:3", None),
    (EnrolButton, "familia:cp:enrol:3:12", "Enrol"),
    (ProgressButton, "familia:cp:me:3:12", "My progress"),
    (ResultsButton, "familia:cp:results:3:12", "Results"),
    (FeedbackButton, "familia:fb:77", "Give feedback"),
    (PageButton, "familia:lb:hours:week:2026-W48:program:0:0:1", None),
    (PageButton, "familia:lb:diamonds:custom:2026-11-01.2026-11-30:family:5:1:0", "Next"),
    (RosterPage, "familia:pg:roster:5:2", "Next"),
    (ListPage, "familia:pg:families:1:0", "Previous"),
    (HistoryPage, "familia:pg:fhistory:111:1", None),
    (CheckinsPage, "familia:pg:checkins:111:30:4", "Next"),
    (FamiliesPage, "familia:pg:lbfam:hours:week:2026-W48:average:2", "Next"),
    (RiskPage, "familia:pg:risk:5:1", "Previous"),
    (CampaignListPage, "familia:pg:campaigns:3", "Next"),
    (DeleteConfirm, "familia:me:delete", "✓"),
]
ALL = {cls for cls, _, _ in POSTED}


@pytest.mark.parametrize(("cls", "custom_id", "text"), POSTED)
async def test_a_posted_button_is_rebuilt_from_its_custom_id(cls, custom_id, text):
    matching = [c for c in ALL if c.__discord_ui_compiled_template__.fullmatch(custom_id)]
    assert matching == [cls]
    item = discord.ui.Button(label=text, custom_id=custom_id)
    match = cls.__discord_ui_compiled_template__.fullmatch(custom_id)
    rebuilt = await cls.from_custom_id(None, item, match)
    assert rebuilt.custom_id == custom_id
    if text:
        assert rebuilt.item.label == text
