"""Policies: maria publishes the gifting rules from a Markdown file in Spanish, then a second
version with the English text through the form; ana, who reads Spanish, finds them by typing
without accents, reads them and acknowledges; rosa sees who in her family has."""

from __future__ import annotations

TITLE = "Policies"

RULES_ES = """# Regalos y monetización en LIVE

- Puedes agradecer los regalos por su nombre.
- **Nunca** pidas regalos ni prometas nada a cambio.
- Las metas de regalos en pantalla necesitan el visto bueno de tu líder.
"""
RULES_EN = """# Gifts and monetisation on LIVE

- You may thank gifters by name.
- **Never** ask for gifts or promise anything in return.
- On-screen gift goals need your leader's approval.
"""


async def play(demo) -> None:
    maria, rosa = demo.people["maria"], demo.person("rosa")
    ana = demo.person("ana")
    demo.narrate("maria uploads the gifting rules the agency wrote, in Spanish")
    await demo.command(maria, "policy", {
        "title": "Regalos en LIVE", "category": "monetisation", "language": "es",
        "file": ("regalos.md", RULES_ES.encode())}, subcommand="publish")
    demo.narrate("and adds the English text through the form: version 2")
    form = await demo.command(maria, "policy", {
        "title": "Regalos en LIVE", "summary": "English text added"}, subcommand="publish")
    await demo.fill(maria, form, {"body_en": RULES_EN, "body_es": RULES_ES})
    demo.narrate("ana wonders whether she may ask for gifts; she types without accents")
    await demo.command(ana, "policy", {"query": "monetizacion regalos"}, subcommand="search",
                       locale="es-ES")
    shown = await demo.command(ana, "policy", {"document": "Regalos en LIVE"},
                               subcommand="show", locale="es-ES")
    message = await shown.wait_message()
    ack = next((c for c in message.custom_ids if c.startswith("familia:pol:ack:")), None)
    if ack is not None:
        await demo.click(ana, message, ack, "Confirmo la lectura")
    await demo.command(rosa, "policy", {"document": "Regalos en LIVE"}, subcommand="status")
