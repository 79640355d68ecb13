"""The audience queries campaigns and broadcasts share (services/audience.py)."""

import pytest

from bot.services import audience
from bot.services.families import AGREEMENT_VERSION

G, MANAGER = 1, 900


async def _join(services, family, user):
    request = await services.families.request_join(G, user, family.id, AGREEMENT_VERSION)
    await services.families.decide(G, family.leader_user_id, request.id, True)


async def test_audiences_by_kind(services):
    red = await services.families.create(G, MANAGER, "Red", 10, channel_id=5001)
    blue = await services.families.create(G, MANAGER, "Blue", 20)
    gone = await services.families.create(G, MANAGER, "Gone", 30, channel_id=5003)
    await _join(services, red, 11)
    await _join(services, blue, 21)
    await _join(services, gone, 31)
    await services.families.archive(G, MANAGER, gone.id)
    gold = await services.tiers.define(G, MANAGER, "Gold", 1)
    await services.tiers.set_manual(G, MANAGER, 11, gold, "2026-03")

    db = services.db
    assert await audience.creators(db, G, "all", []) == {10: red.id, 11: red.id, 20: blue.id,
                                                         21: blue.id}
    assert await audience.creators(db, G, "families", [blue.id]) == {20: blue.id, 21: blue.id}
    assert await audience.creators(db, G, "families", []) == {}
    assert await audience.creators(db, G, "tiers", [gold.id]) == {11: red.id}
    with pytest.raises(ValueError):
        await audience.creators(db, G, "leaders", [])

    channels = await audience.family_channels(db, G, None)  # every active family
    assert [(r["id"], r["channel_id"]) for r in channels] == [(red.id, 5001), (blue.id, None)]
    assert [r["id"] for r in await audience.family_channels(db, G, [blue.id, gone.id])] == [
        blue.id]
    assert await audience.family_channels(db, G, []) == []
    assert [r["id"] for r in await audience.families_of_tiers(db, G, [gold.id])] == [red.id]

    assert await audience.tier_holders(db, G, [gold.id]) == [11]
    assert await audience.family_leaders(db, [red.id, blue.id]) == {10, 20}
    assert await audience.family_members(db, [red.id]) == {10, 11}
