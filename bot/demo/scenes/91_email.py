"""Email addresses: a leader adds hers (a code by mail, a wrong try, the right one), a creator
does it in Spanish, and the manager adds hers too."""

from __future__ import annotations

import re

TITLE = "Email"
ROSA, LUCIA, MARIA = "rosa@example.org", "lucia@example.org", "maria@example.org"


async def play(demo) -> None:
    rosa, lucia = demo.person("rosa"), demo.person("lucia", locale="es-419")
    await demo.command(rosa, "email", {"address": ROSA}, subcommand="set")
    code = _code(await demo.mail(ROSA))
    if code is None:
        return
    demo.narrate("a wrong code is refused, and says how many tries are left")
    await demo.command(rosa, "email", {"code": "000000" if code != "000000" else "111111"},
                       subcommand="verify")
    await demo.command(rosa, "email", {"code": code}, subcommand="verify")

    demo.narrate("lucía's Discord is in Spanish, so her code email is too")
    await demo.command(lucia, "email", {"address": LUCIA}, subcommand="set")
    code = _code(await demo.mail(LUCIA, lines=4))
    if code is not None:
        await demo.command(lucia, "email", {"code": code}, subcommand="verify")

    demo.narrate("maria adds her address the same way (not shown)")
    maria = demo.people["maria"]
    with demo.quietly():
        await demo.command(maria, "email", {"address": MARIA}, subcommand="set")
        code = _code(await demo.mail(MARIA))
        if code is not None:
            await demo.command(maria, "email", {"code": code}, subcommand="verify")


def _code(mails) -> str | None:
    for mail in mails:
        found = re.search(r"\b(\d{6})\b", mail.get_body(preferencelist=("plain",)).get_content())
        if found:
            return found.group(1)
    return None
