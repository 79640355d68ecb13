"""What people may type: one table of maxima, and the checks that hold every service to it.

Every free-text option and form field has a maximum that fits where the text is shown, every
number a documented range (README "Input bounds" lists them). Discord's option limits
(``max_length``, ``min_value``/``max_value`` in the cogs' declarations and
``bot/cogkit/options.py``) stop most input before it is sent; the services check the same
bounds again (a command may be called by a client that ignores them, and services have other
callers), refusing with a :class:`~bot.errors.UserError` — a short localised answer, nothing
changed.

Names (families, tiers, campaigns) lose Unicode's bidirectional controls (an RTL override
would turn the rest of a message around it backwards) and must keep at least one visible
character: a name of zero-width characters only shows as nothing.
"""

from __future__ import annotations

import unicodedata

from bot.errors import UserError

# -- text ----------------------------------------------------------------------------------
FAMILY_NAME_MAX = 60  # a channel's and a role's name take it
TIER_NAME_MAX = 40
CAMPAIGN_NAME_MAX = 60
NOTE_MAX = 500  # a leave note, a removal's reason: one line of a notice, an excerpt in lists
CHOICE_MAX = 100  # an option answered with autocomplete (a family, tier, campaign, zone)
DATE_MAX = 32  # "YYYY-MM-DD HH:MM" with room for spaces
LIST_MAX = 1000  # names separated by commas (families, tiers)
EMAIL_MAX = 254  # the longest address SMTP carries
CODE_MAX = 16  # an emailed code
TIME_MAX = 16  # "HH:MM" or "off"

# -- numbers -------------------------------------------------------------------------------
HOURS_A_DAY = 24
DAYS_A_MONTH = 31
DIAMONDS_A_DAY = 10_000_000  # a check-in's maxima
FOLLOWERS_A_DAY = 1_000_000
PEAK_VIEWERS_MAX = 1_000_000
# a tier's thresholds are monthly: a day's maximum on every day of the longest month
TIER_MAXIMA = {
    "min_hours": HOURS_A_DAY * DAYS_A_MONTH,
    "min_diamonds": DIAMONDS_A_DAY * DAYS_A_MONTH,
    "min_valid_days": DAYS_A_MONTH,
    "min_followers": FOLLOWERS_A_DAY * DAYS_A_MONTH,
}
TIER_RANK_MAX = 100
HISTORY_DAYS_MAX = 90  # /checkins history
STATS_DAYS_MAX = 3660  # /family stats: ten years back
REST_DAYS_MAX = 6  # missed days a week that keep a streak
CAPACITY_MAX = 1000  # members of a family
CAMPAIGN_DAYS_MAX = 92  # the longest campaign
# a campaign goal per creator: a day's maximum on every day of the longest campaign; a
# family's goal: that for every member of the largest family
CREATOR_TARGET_MAX = {
    "hours": HOURS_A_DAY * CAMPAIGN_DAYS_MAX,
    "diamonds": DIAMONDS_A_DAY * CAMPAIGN_DAYS_MAX,
    "followers": FOLLOWERS_A_DAY * CAMPAIGN_DAYS_MAX,
    "days": CAMPAIGN_DAYS_MAX,
    "streak": CAMPAIGN_DAYS_MAX,
}
FAMILY_TARGET_MAX = {metric: top * CAPACITY_MAX for metric, top in CREATOR_TARGET_MAX.items()}
# what Discord's option limits say: the largest of any metric
TARGET_OPTION_MAX = max(FAMILY_TARGET_MAX.values())
ID_MAX = 2**53 - 1  # an id typed as a number (Discord's integers stop here)

# Unicode's bidirectional embeddings, overrides and isolates (LRE…RLO, LRI…PDI).
BIDI_CONTROLS = dict.fromkeys([*range(0x202A, 0x202F), *range(0x2066, 0x206A)])
# Letters and symbols that draw nothing (Hangul fillers, the blank Braille pattern…).
_BLANK = {0x115F, 0x1160, 0x3164, 0xFFA0, 0x2800, 0x180E}


def strip_bidi(text: str) -> str:
    return text.translate(BIDI_CONTROLS)


def visible(char: str) -> bool:
    """Whether ``char`` draws something: not a space, a control, a format character
    (zero-width space, joiners, marks of direction) or a blank letter."""
    if ord(char) in _BLANK:
        return False
    return unicodedata.category(char)[0] not in ("Z", "C")


def clean_name(text: str | None, limit: int) -> str | None:
    """A name as it is stored: bidi controls gone, spaces collapsed; None (the caller refuses
    it with its own message) when empty, longer than ``limit`` or without a visible
    character."""
    # control characters (a pasted \x13, a tab) draw nothing and break a channel's name
    # or a chart's label: gone, like the bidi controls (format characters such as the
    # joiner inside an emoji stay)
    kept = "".join(c for c in strip_bidi(text or "") if unicodedata.category(c) != "Cc"
                   or c.isspace())
    cleaned = " ".join(kept.split())
    if not cleaned or len(cleaned) > limit or not any(visible(c) for c in cleaned):
        return None
    return cleaned


def clean_text(text: str | None, limit: int, field: str) -> str:
    """Free text (a note, a reason) as it is stored: bidi controls gone, surrounding space
    trimmed; refused as ``common.too_long`` when longer than ``limit``."""
    cleaned = strip_bidi(text or "").strip()
    if len(cleaned) > limit:
        raise UserError("common.too_long", field=field, length=len(cleaned), limit=limit)
    return cleaned


def check_number(value: float | None, field: str, low: float, high: float) -> None:
    """``value`` (None: not given) within ``low``…``high``, else ``common.out_of_range``."""
    if value is None:
        return
    if not low <= value <= high:  # NaN compares false: refused too
        raise UserError("common.out_of_range", field=field, value=value, low=low, high=high)
