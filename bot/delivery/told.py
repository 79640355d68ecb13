"""The message that tells a creator a decision about them (see
:mod:`bot.services.families.notices`): a DM in their language and, queued by the sender only
if Discord refuses it (DMs closed), a mention of them in the family channel that pings them
alone when they can see that channel, else a note there for its leaders and the managers (in
the server's language, pinging nobody) that they could not be told. Rendered from templates
at the composition root; no discord import."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from bot.delivery.queue import Send
from bot.services.families.notices import KIND, Tell, Told

TEMPLATE = "discord/families/told.md.j2"
UNTOLD = "discord/families/untold.md.j2"


def decision_teller(templates: Any) -> Tell:
    """The :data:`Tell` of the bot: ``templates`` is the bot's :class:`Templates`."""

    def tell(told: Told) -> Send:
        def text(public: bool) -> str:
            return templates.render(told.locale, TEMPLATE, told=told, public=public)

        fallback = None
        if told.channel_id is not None and told.sees_channel:  # no reason shown to everyone
            fallback = asdict(Send(
                KIND, f"{told.key}:fallback", "channel", told.channel_id,
                {"content": text(True), "mentions": {"users": [told.user_id]}},
                source=told.key, channel_id=told.channel_id))
        elif told.channel_id is not None:  # they cannot see it: the deciders are told instead
            note = templates.render(told.channel_locale or told.locale, UNTOLD, told=told)
            fallback = asdict(Send(
                KIND, f"{told.key}:untold", "channel", told.channel_id, {"content": note},
                source=told.key, channel_id=told.channel_id))
        return Send(KIND, told.key, "dm", told.user_id,
                    {"content": text(False), "fallback": fallback}, source=told.key)

    return tell
