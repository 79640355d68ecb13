"""A local Discord API emulator (REST v10 + gateway) for tests, benchmarks and offline mode.

It imports nothing from the application: any discord.py bot can run against it. Modules:
``server`` (the :class:`Emulator`: HTTP, lifecycle, faults, stats), ``world`` (state changes
and their gateway events), ``api`` (acting as users, reading results), ``interactions``
(interaction handles and responses), ``rest`` (routes), ``gateway``, ``ratelimit``,
``permissions``, ``models`` and ``testing`` (start/stop a bot, pytest fixture).
"""

from emulator.interactions import Interaction
from emulator.models import (
    Application,
    Attachment,
    Channel,
    Guild,
    Member,
    Message,
    Overwrite,
    Role,
    User,
)
from emulator.server import Emulator

__all__ = ["Application", "Attachment", "Channel", "Emulator", "Guild", "Interaction", "Member",
           "Message", "Overwrite", "Role", "User"]
