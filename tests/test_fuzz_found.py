"""What the command fuzz (``tests/e2e/test_fuzz_commands.py``) found, held on its own: a
refusal repeats the number typed, whatever its size; a choice given as any other text is
refused."""

from __future__ import annotations

import math

import pytest

from bot import i18n
from bot.errors import UserError
from tests._leaderboards import ANA, LEADER, MANAGER, G, family


@pytest.mark.parametrize("value", [10**30, 2**63, -(2**63) - 1, 1e308, -1e308, 10**400,
                                   math.inf, -math.inf, math.nan])
@pytest.mark.parametrize("locale", ["en", "es"])
def test_a_number_of_any_size_is_written(value, locale):
    # "1e30 is out of range for `days`" used to raise InvalidOperation in the error
    # handler itself: the command got no answer at all
    for text in (i18n.amount(value, locale, 3), i18n.count(value, locale)):
        assert text and len(text) < 600
    if isinstance(value, int) and abs(value) < 10**40:
        assert i18n.count(value, "en").replace(",", "").lstrip("-") == str(abs(value))


async def test_appoint_refuses_a_position_that_is_not_a_choice(services):
    # /family appoint with a raw "position" (a hand-written API call sends any text for a
    # choice) used to raise ValueError: "Something went wrong" instead of a refusal
    lobos = await family(services, "Lobos", LEADER, [ANA])
    with pytest.raises(UserError) as refused:
        await services.families.appoint(G, MANAGER, lobos.id, "¢Í\x13\r", ANA)
    assert refused.value.code == "common.bad_option"
    assert (await services.families.get(G, lobos.id)).co_leader_user_id is None
