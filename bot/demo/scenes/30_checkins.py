"""A creator reports her day; the family channel sees it; her leader answers with feedback."""

from __future__ import annotations

TITLE = "A check-in day"


async def play(demo) -> None:
    lucia, sofia = demo.person("lucia", locale="es-419"), demo.person("sofia")
    channel = demo.emu.channel_by_name(demo.guild, "soles")
    if channel is None:
        demo.narrate("no family channel: the families scene did not run")
        return
    demo.skip(channel)  # what the families scene already showed
    form = await demo.command(lucia, "checkin", {"mood": 4})
    if form.modal is None:
        return
    await demo.fill(lucia, form, {"hours": "3,5", "diamonds": "1200", "followers": "35",
                                  "peak_viewers": "80", "notes": "Buen directo"})
    posts = await demo.wait_posts(channel)
    post = next((p for p in posts if any(c.startswith("familia:fb:") for c in p.custom_ids)),
                None)
    if post is None:
        return
    button = next(c for c in post.custom_ids if c.startswith("familia:fb:"))
    asked = await demo.click(sofia, post, button, "Give feedback")
    if asked.modal is not None:
        await demo.fill(sofia, asked, {"feedback": "Great stream, Lucía! Try going live "
                                                   "30 minutes earlier tomorrow."})
    await demo.emu.wait_for(lambda: demo.emu.dms(lucia), 5, 'the feedback DM')
    demo.dms(lucia)
    await demo.command(lucia, "checkin", {"mood": 5})
    demo.narrate("editing today's check-in replaces it; nothing is counted twice")
