"""A manager sets the program up; a creator picks their language and time zone."""

from __future__ import annotations

TITLE = "Setting up the program"


async def play(demo) -> None:
    maria = demo.people["maria"]
    demo.narrate("maria owns the server, so she is a program manager")
    await demo.command(maria, "settings", {"zone": "America/Mexico_City"},
                       subcommand="timezone")
    lucia = demo.person("lucia", locale="es-419")
    demo.narrate("lucia's Discord is in Spanish: Familia answers her in Spanish")
    await demo.command(lucia, "me", {"zone": "America/Bogota"}, subcommand="timezone")
    await demo.command(lucia, "settings", {"language": "es"}, subcommand="language")
    demo.narrate("creators cannot change program settings; nothing was changed")
