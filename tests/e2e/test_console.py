"""The emulator's web console in a real headless Chromium (Debian's package, driven by
Playwright; no browser is downloaded): act as a creator, check in through the form, see the
post in the family channel; as the leader, give feedback with the post's button; back as the
creator, read it in the DMs, live, without reloading. Also: what each person sees, ephemeral
replies marked as such, and the console refusing other machines.

Skipped, saying so, only when no Chromium is installed (``.ci/run`` installs it)."""

from __future__ import annotations

import json
import shutil
import time
from datetime import timedelta
from email.message import EmailMessage

import pytest

from bot.services.families import AGREEMENT_VERSION
from emulator import Overwrite
from emulator import models as m
from emulator.console import Console

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed: apt-get install "
                       "chromium (CI installs it) to run the web console's browser tests"),
]
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture
async def console(app):
    lena, ana = app.user("lena"), app.user("ana", locale="es-419")
    channel = app.emu.create_channel(app.guild, "lobos")
    app.emu.create_channel(app.guild, "managers-only", overwrites=[
        Overwrite(app.guild.id, 0, deny=m.VIEW_CHANNEL)])
    families = app.services.families
    family = await families.create(app.guild.id, app.owner.id, "Lobos", lena.id,
                                   channel_id=channel.id)
    request = await families.request_join(app.guild.id, ana.id, family.id, AGREEMENT_VERSION)
    await families.decide(app.guild.id, lena.id, request.id, True)
    await app.emu.wait_for(lambda: app.emu.dms(ana), what="ana told she was approved")
    started = await Console(app.emu, app.guild).start()
    try:
        yield started, lena, ana, channel
    finally:
        await started.stop()


@pytest.fixture
async def page(console):
    from playwright.async_api import async_playwright

    async with async_playwright() as driver:
        browser = await driver.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            opened = await browser.new_page()
            yield opened
        finally:
            await browser.close()


async def act_as(page, user, channel_name: str) -> None:
    await page.select_option("#actor", str(user.id))
    await page.locator("#channels a", has_text=channel_name).first.click()
    await page.wait_for_selector(f"#channel-name:text-is('{channel_name}')")


async def command(page, typed: str, label: str) -> float:
    """Type ``typed``, pick ``label`` among the suggestions, press Enter; the milliseconds
    from Enter to the page's "Answered" (or a form)."""
    await page.fill("#command", typed)
    await page.locator("#suggestions div", has_text=label).first.click()  # "": the first
    started = time.monotonic()
    await page.press("#command", "Enter")
    await page.locator("#modal[open]").or_(
        page.locator("#status", has_text="Answered")).first.wait_for()
    return (time.monotonic() - started) * 1000


async def test_checkin_feedback_and_dm_in_the_browser(app, console, page):
    started, lena, ana, channel = console
    await page.goto(started.url)
    await page.wait_for_selector("body[data-ready='1']")
    # the manager sees the private channel; Ana (a creator) does not
    assert await page.locator("#channels a", has_text="managers-only").count() == 1
    await act_as(page, ana, "lobos")
    assert await page.locator("#channels a", has_text="managers-only").count() == 0
    # Ana reads Spanish: the composer offers the commands in Spanish (typing the English
    # name finds them too); /checkin opens its form
    await command(page, "/checkin", "/reporte-diario")
    await page.wait_for_selector("#modal[open]")
    for name, value in {"hours": "2,5", "diamonds": "1200", "followers": "15",
                        "peak_viewers": "80", "notes": "Probé un juego nuevo"}.items():
        await page.fill(f"#modal-fields [name='{name}']", value)
    await page.click("#modal-submit")
    mine = page.locator(".message", has_text="Solo tú puedes ver esto").or_(
        page.locator(".message", has_text="Only you can see this"))
    await mine.first.wait_for()
    # the post in the family channel, live (server-sent events), with the feedback button
    post = page.locator(".message", has=page.locator("button", has_text="Feedback"))
    await post.first.wait_for()
    # the leader gives feedback through the post's button and its form
    await act_as(page, lena, "lobos")
    await page.locator(".message button", has_text="Feedback").first.click()
    await page.wait_for_selector("#modal[open]")
    await page.fill("#modal-fields textarea, #modal-fields input", "¡Gran energía!")
    await page.click("#modal-submit")
    await page.locator(".message", has_text="DM").first.wait_for()
    # back as Ana: the DM is there
    await act_as(page, ana, "Familia")
    await page.locator(".message", has_text="¡Gran energía!").first.wait_for()
    # the creators' board, with its chart shown as an image
    await act_as(page, ana, "lobos")
    await command(page, "/leaderboard creators", "")
    chart = page.locator(".message img[alt='leaderboard.png']")
    await chart.first.wait_for()
    assert await chart.first.evaluate("img => img.naturalWidth") > 100
    assert await app.services.db.fetchval("SELECT count(*) FROM checkins") == 1
    # a message posted meanwhile appears without reloading
    await act_as(page, ana, "lobos")
    app.emu.send_message(channel, lena, f"Hola familia **en vivo** <@{ana.id}>")
    live = page.locator(".message", has_text="Hola familia")
    await live.first.wait_for()
    assert await live.locator("strong", has_text="en vivo").count() == 1
    assert await live.locator(".mention", has_text="@ana").count() == 1
    await page.screenshot(path=str(app.settings.database_path.parent / "console.png"))
    assert (app.settings.database_path.parent / "console.png").stat().st_size > 10_000


async def test_ephemeral_reply_round_trip_and_what_others_see(app, console, page):
    started, lena, _, _ = console
    await page.goto(started.url)
    await page.wait_for_selector("body[data-ready='1']")
    await act_as(page, app.owner, "general")
    times = [await command(page, "/settings view", "/settings view") for _ in range(3)]
    reply = page.locator(".message", has_text="Only you can see this")
    await reply.first.wait_for()
    assert "Familia settings" in await reply.first.inner_text()
    print(json.dumps({"console": "enter_to_ephemeral_ms", "median": sorted(times)[1],
                      "all": [round(t, 1) for t in times]}))
    # Lena, in the same channel, does not see the manager's ephemeral reply
    await act_as(page, lena, "general")
    assert await page.locator(".message", has_text="Familia settings").count() == 0


async def test_console_answers_only_this_machine(console):
    import aiohttp

    started = console[0]
    async with aiohttp.ClientSession() as session:
        async with session.get(started.url, headers={"Host": "evil.example.org"}) as refused:
            assert refused.status == 403
        async with session.get(started.url) as page:
            assert page.status == 200
            assert "default-src 'self'" in page.headers["Content-Security-Policy"]
            assert page.headers["X-Frame-Options"] == "DENY"
        run = started.url.replace("/console", "/console/api/run")
        async with session.post(run, data={"user": "1"}) as form:
            assert form.status == 415  # a cross-site form cannot drive it
        async with session.post(run, json={"user": "1", "channel": "2", "name": "x"}) as bad:
            assert bad.status == 400 and "error" in await bad.json()


async def test_time_travel_runs_what_fell_due_and_emails_are_listed(app, console, page,
                                                                     tmp_path):
    _, lena, _, _ = console
    # a roll-call an hour from now in Lobos; an email the run "sent"
    at = (app.clock.now() + timedelta(minutes=59)).strftime("%H:%M")
    await app.services.checkins.update_settings(app.guild.id, app.owner.id, rollcall_time=at)
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    mail = EmailMessage()
    mail["Subject"], mail["To"] = "Your weekly digest", "ana@example.org"
    mail.set_content("Plain digest")
    mail.add_alternative("<p><b>Your week</b></p><script>alert(1)</script>", subtype="html")
    (outbox / "0001-digest_creator.eml").write_bytes(bytes(mail))

    async def travel(seconds: float) -> None:
        app.clock.advance(seconds=seconds)
        await app.bot.jobs.run_all()

    second = await Console(app.emu, app.guild, on_time=travel, now=app.clock.now,
                           outbox=outbox).start()
    try:
        await page.goto(second.url)
        await page.wait_for_selector("body[data-ready='1']")
        await act_as(page, lena, "lobos")
        assert await page.locator(".message", has_text="Roll-call").count() == 0
        before = await page.locator("#now").inner_text()
        await page.click("#clock button[data-seconds='3600']")
        await page.locator(".message", has_text="Roll-call").first.wait_for()
        assert await page.locator("#now").inner_text() != before
        link = page.locator("#emails a", has_text="Your weekly digest")
        await link.wait_for()
        async with page.context.expect_page() as opened:
            await link.click()
        shown = await opened.value
        await shown.wait_for_load_state()
        assert "Your week" in await shown.inner_text("body")
        # shown in a sandbox: the email's own script never runs there
        response = await page.request.get(shown.url)
        assert "sandbox" in response.headers["content-security-policy"]
        assert "script-src" not in response.headers["content-security-policy"]
    finally:
        await second.stop()


async def test_console_api_autocompletes_and_takes_a_file(app, console):
    """What the page sends, without a browser: live autocomplete from the bot, and a file
    for an attachment option (the stats import's preview answers about the file)."""
    import base64

    import aiohttp

    started = console[0]
    base = started.url.replace("/console", "/console/api/")
    general = app.emu.channel_by_name(app.guild, "general")
    async with aiohttp.ClientSession() as session:
        async with session.post(base + "autocomplete", json={
                "user": str(app.owner.id), "name": "settings", "subcommand": ["timezone"],
                "focused": "zone", "value": "bogo"}) as answer:
            choices = (await answer.json())["choices"]
        assert choices[0]["value"] == "America/Bogota"
        sheet = base64.b64encode(b"Handle,Date,Hours\nnobody_here,2026-06-16,2\n").decode()
        async with session.post(base + "run", json={
                "user": str(app.owner.id), "channel": str(general.id), "name": "stats",
                "subcommand": ["import"], "options": {"file": {
                    "filename": "stats.csv", "type": "text/csv", "data": sheet}}}) as answer:
            ran = await answer.json()
        assert ran["answered"], ran
    record = next(it for it in app.emu.interactions(app.owner) if str(it.id) ==
                  ran["interaction"])
    text = await record.reply_text()
    assert "`stats.csv`" in text and "nobody\\_here" in text, text


async def test_no_console_with_a_discord_token(app):
    from bot.config import load_settings
    from bot.demo.play import open_console

    with_token = load_settings(env_file=None, discord_token="x" * 60)
    assert await open_console(object(), with_token) is None  # never reaches the demo
