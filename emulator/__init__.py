"""A local Discord API emulator (REST v10 + gateway) for tests, benchmarks and offline mode.

It imports nothing from the application: any discord.py bot can run against it.
"""

from emulator.interactions import Interaction
from emulator.models import Channel, Guild, Member, Message, Role, User
from emulator.server import Emulator

__all__ = ["Channel", "Emulator", "Guild", "Interaction", "Member", "Message", "Role", "User"]
