"""The bounds on what people type (bot/services/bounds.py), checked by the services themselves:
a refusal is a UserError with its own localised message, and nothing is stored."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from bot.errors import UserError
from bot.services import bounds
from bot.templating import Templates
from cogs.broadcasts import TextModal
from cogs.campaigns import DetailsModal
from cogs.checkins import CheckinModal, FeedbackModal


def test_names_keep_what_shows_and_drop_bidi_controls():
    assert bounds.clean_name("  Lobos \u202edel\u202c   Sur ", 60) == "Lobos del Sur"
    assert bounds.clean_name("\u2066Osos\u2069", 60) == "Osos"
    assert bounds.clean_name("Ñandú 🐺", 60) == "Ñandú 🐺"
    assert bounds.clean_name("¢Í\x13\r", 60) == "¢Í"  # control characters gone (fuzz found)
    assert bounds.clean_name("Los\x00\x07 Pumas\t", 60) == "Los Pumas"
    assert bounds.clean_name("👩\u200d👩\u200d👧 Familia", 60) == "👩\u200d👩\u200d👧 Familia"
    for blank in ("", "   ", "\u200b\u200c\u200d", "\u2060\ufeff", "\u3164\u3164", "\u2800",
                  "\u202e\u202c", None):
        assert bounds.clean_name(blank, 60) is None, repr(blank)
    assert bounds.clean_name("x" * 61, 60) is None
    assert bounds.clean_name("x" * 60, 60) == "x" * 60


def test_free_text_is_refused_past_its_limit_not_cut():
    assert bounds.clean_text("  a note \u202e ", 500, "note") == "a note"
    with pytest.raises(UserError) as refused:
        bounds.clean_text("x" * 5000, 500, "reason")
    assert refused.value.code == "common.too_long"
    assert refused.value.params == {"field": "reason", "length": 5000, "limit": 500}


def test_numbers_outside_their_range_are_refused():
    bounds.check_number(None, "hours", 0, 744)
    bounds.check_number(744, "hours", 0, 744)
    for wrong in (-1, 745, 2**53, 2**63, float("nan"), float("inf")):
        with pytest.raises(UserError) as refused:
            bounds.check_number(wrong, "hours", 0, 744)
        assert refused.value.code == "common.out_of_range"


@pytest.mark.parametrize(("locale", "words"), [
    ("en", "9,223,372,036,854,775,808 is out of range for `diamonds`: use a number from 0 to "
           "310,000,000."),
    ("es", "9.223.372.036.854.775.808 está fuera del rango de `diamantes`: usa un número de 0 "
           "a 310.000.000."),
])
def test_the_refusal_names_the_option_as_the_reader_sees_it(locale, words):
    error = UserError("common.out_of_range", field="diamonds", value=2**63, low=0,
                      high=bounds.TIER_MAXIMA["min_diamonds"])
    assert Templates().render_error(locale, error) == words


async def test_tier_service_refuses_out_of_range_thresholds_and_stores_nothing(services):
    tiers = services.tiers
    for thresholds in ({"min_hours": 2.0**53}, {"min_valid_days": 40},
                       {"min_diamonds": 2**63}, {"min_followers": 10**12}):
        with pytest.raises(UserError) as refused:
            await tiers.define(1, 2, "Bronce", 1, None, **thresholds)
        assert refused.value.code == "common.out_of_range"
    with pytest.raises(UserError):
        await tiers.define(1, 2, "\u200b\u200b", 1)
    with pytest.raises(UserError):
        await tiers.define(1, 2, "Bronce", 101)
    assert await tiers.list_tiers(1) == []
    made = await tiers.define(1, 2, "Bro\u202ence", 1, None, min_hours=744, min_valid_days=31)
    assert made.name == "Bronce"


async def test_every_form_field_has_a_maximum_discord_accepts():
    """Each modal's text fields carry max_length (at most Discord's 4,000)."""
    bot = SimpleNamespace(templates=Templates())
    spec = SimpleNamespace(description=None, reward_text=None)
    modals = [TextModal(bot, "en", {}), DetailsModal(bot, "en", spec, None),
              CheckinModal(bot, "en", 1, None, False), FeedbackModal(bot, "en", 1)]
    for modal in modals:
        fields = [item for item in modal.children if hasattr(item, "max_length")]
        assert fields, modal
        for item in fields:
            assert item.max_length and item.max_length <= 4000, (modal, item.custom_id)
