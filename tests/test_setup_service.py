"""The /setup wizard's service on a real SQLite file: where a server stands, resuming, the
support desk's two channels picked one at a time, the tier template never replacing tiers."""

from __future__ import annotations

import pytest

from bot.errors import UserError

GUILD, MANAGER = 10, 1


async def test_steps_resume_and_configured_reads_the_settings(services):
    setup = services.setup
    status = await setup.status(GUILD)
    assert status.resume_at == "basics" and status.missing[0] == "basics"
    await setup.mark(GUILD, MANAGER, "basics", "skipped")
    await setup.mark(GUILD, MANAGER, "managers", "done")
    status = await setup.status(GUILD)
    assert status.resume_at == "channels"
    assert "basics" not in status.missing  # skipped: not reported missing
    assert "managers" in status.missing  # "done" pressed, yet no role set: still missing
    # configured through the single commands counts too
    await services.guilds.set_manager_role(GUILD, MANAGER, 77)
    await services.guilds.set_timezone(GUILD, MANAGER, "America/Lima")
    status = await setup.status(GUILD)
    assert status.configured["managers"] and status.configured["basics"]
    with pytest.raises(UserError):
        await setup.mark(GUILD, MANAGER, "nonsense", "done")


async def test_desk_saved_once_both_channels_are_known(services):
    setup = services.setup
    assert await setup.pick_desk(GUILD, MANAGER, "staff", 501) is None
    assert await services.tickets.settings(GUILD) is None
    assert (await setup.status(GUILD)).picks == {"staff": 501}
    desk = await setup.pick_desk(GUILD, MANAGER, "support", 500)
    assert (desk.support_channel_id, desk.staff_channel_id) == (500, 501)
    assert (await setup.status(GUILD)).picks == {}
    # a desk that exists keeps its other channel
    desk = await setup.pick_desk(GUILD, MANAGER, "staff", 502)
    assert (desk.support_channel_id, desk.staff_channel_id) == (500, 502)
    with pytest.raises(UserError):  # the same channel for both: the desk refuses it
        await setup.pick_desk(GUILD, MANAGER, "support", 502)
    assert (await services.tickets.settings(GUILD)).support_channel_id == 500


async def test_tier_template_makes_three_and_never_replaces(services):
    made = await services.setup.tier_template(GUILD, MANAGER, ("Uno", "Dos", "Tres"))
    assert [(t.name, t.rank, t.min_hours, t.min_valid_days, t.min_diamonds) for t in made] == [
        ("Uno", 1, 15, 8, 3000), ("Dos", 2, 40, 15, 15000), ("Tres", 3, 80, 22, 60000)]
    with pytest.raises(UserError) as refused:
        await services.setup.tier_template(GUILD, MANAGER, ("A", "B", "C"))
    assert refused.value.code == "setup.tiers_exist"
    assert len(await services.tiers.list_tiers(GUILD)) == 3
