"""The offline demo plays every scene against the emulator and reads like a transcript."""

import io
import re

import pytest

from bot.demo.play import demo_main


@pytest.mark.slow
async def test_demo_transcript(settings, tmp_path, caplog):
    out = io.StringIO()
    assert await demo_main(settings, out=out, mail_dir=tmp_path / "mail") == 0
    text = out.getvalue()
    # a real program's size (bot/program.py's "program"), the scenes' people in it
    assert ("Familia Demo already runs a program: 30 families, 300 creators, 30 leaders and "
            "their co-leaders, 90 days of check-ins. The scenes follow rosa, who leads Lobos, "
            "and tomas, who leads Osos") in text
    assert "maria ▸ /settings timezone zone:America/Mexico_City" in text
    assert "Time zone: `America/Mexico_City`" in text
    assert "Solo los gestores del programa" in text  # lucia's Discord is Spanish
    assert "Traceback" not in text and "Something went wrong" not in text
    assert "<@" not in text  # mentions shown as names
    # scenes numbered 1, 2, 3… in the order they play
    titles = re.findall(r"━━ (\d+) · (.+) ━━", text)
    assert [int(n) for n, _ in titles] == list(range(1, len(titles) + 1))
    assert [t for _, t in titles] == [
        "Setting up the program", "Families", "Roster import", "A check-in day", "Reminders",
        "Tiers", "Leaderboards and progress", "A campaign", "Broadcasts", "Moving and leaving",
        "Email", "Weekly digests", "The weekly review", "Platform stats", "Policies",
        "Support desk"]
    scene = dict(zip([t for _, t in titles], re.split(r"\n━━ \d+ · .+ ━━\n", text)[1:],
                     strict=True))
    # the weekly review: one tier with its chart and CSV, an action and its due-day DM, done
    review = scene["The weekly review"]
    assert "Weekly review · week" in review and ".csv" in review and "Action recorded" in review
    assert "DM to rosa" in review and "Action marked done" in review
    # policies: published from a file and the form, found without accents, acknowledged
    policies = scene["Policies"]
    assert "Published **Regalos en LIVE**, version 2" in policies
    assert "**monetización**" in policies and "you acknowledged version 2" in policies
    assert "Acknowledged: 1" in policies
    # the support desk: opened by a creator, claimed, answered, closed; the numbers
    desk = scene["Support desk"]
    assert "Your ticket #1 is open" in desk and "is handling ticket #1" in desk
    assert "waits on an answer from @ana" in desk
    assert "was closed by @sam" in desk and "opened: 1 · open now: 0" in desk
    # families: the leader a manager appointed is asked to accept the agreement, and does
    assert "#soles" in scene["Families"]
    assert "DM to sofia" in scene["Families"]
    assert "@maria made you the leader of the family **Soles**" in scene["Families"]
    assert "you accepted version 1 of the program agreement" in scene["Families"]
    assert "**Roster of Soles** (2)" in scene["Families"]
    assert "agreement not accepted" not in scene["Families"]
    # roster import: the exported roster plus three creators, previewed, applied, again
    roster = scene["Roster import"]
    assert "maria ▸ /creator import file:roster.xlsx" in roster
    assert re.search(r"Added: 3 · changed: 0 · unchanged: [\d,]+ · refused: 0", roster)
    assert "3 creators were asked by DM to accept the program agreement." in roster
    assert "placed you in the family **Soles**" in roster
    assert re.search(r"Added: 0 · changed: 0 · unchanged: [\d,]+ · refused: 0", roster)
    assert "@nora.live" in roster
    assert "[Give feedback]" in scene["A check-in day"] and "DM to lucia" in text
    # reminders: the roll-call names who has not checked in, the summary, what was sent
    assert "#lobos\n  Familia: ⏰ **Roll-call for" in scene["Reminders"]
    assert "@ana" in scene["Reminders"]
    assert "DM to rosa\n  Familia: 📊 **Daily summary for" in scene["Reminders"]
    assert "personal reminder: sent by DM" in scene["Reminders"]
    # tiers: the program's three, a fourth; a preview of what changes only, then the
    # promotions in the family channels (two shown, the others counted)
    tiers = scene["Tiers"]
    assert "3. **Gold**: 80 live hours" in tiers
    preview = tiers.split("**Tier preview for", 1)[1].split("Run /tier sweep apply:True", 1)[0]
    changes = re.findall(r"- @\w+: .+", preview)
    assert changes and all(c.endswith("→ Diamond ⬆️") for c in changes)  # only what changes
    assert "reached the tier Diamond!" in tiers
    shown = re.findall(r"\n  #\S+\n  Familia: 🎉 \*\*Promotions", tiers)
    assert len(shown) == 2 and re.search(r"and so in \d+ more family channels", tiers)
    # boards of a real program page: 31 families, ten a page
    assert "ranked by average per member · page 1 of 4" in scene["Leaderboards and progress"]
    assert "[Enrol | My progress]" in scene["A campaign"]
    assert "“Spring push” has ended" in text and "campaign-2-results.csv" in text
    assert "Announcements in the family channels: 2 posted, 0 failed." in scene["A campaign"]
    # every family has its channel: the broadcast reaches all 31 (one shown)
    assert "Family channels: 31 family channels\n" in scene["Broadcasts"]
    assert "no channel" not in text
    assert "Family channels: 31 sent, 0 failed, 0 waiting" in scene["Broadcasts"]
    assert scene["Broadcasts"].count("  Familia: Marathon weekend!") == 2  # #lobos, ana's DM
    moving = scene["Moving and leaving"]
    assert "@carla joined Osos (approved by @tomas)" in moving
    assert "You left Lobos (Personal reasons)" in moving and "@gala left the family" in moving
    assert "**Stats of Lobos**" in moving and "- Moved to another family: 1" in moving
    assert "**Program stats**" in moving
    assert int(re.search(r"Program stats.*?Members now: (\d+)", moving, re.S).group(1)) > 300
    # email: a code by mail (Spanish for lucía); the digests; one-click unsubscribe; .eml
    assert "✉ email to lucia@example.org: “Tu código de Familia" in scene["Email"]
    assert "That code is not right" in scene["Email"]
    digests = scene["Weekly digests"]
    assert "✉ email to rosa@example.org: “Lobos: your family's week”" in digests
    assert re.search(r"Top of the week:\n +│ 1\. \w+: [\d.]+ hours", digests)
    assert "✉ email to maria@example.org: “Your program's week" in digests
    assert "✉ email to lucia@example.org: “Tu semana en vivo" in digests
    assert "the bot answers 200 OK" in digests and "Weekly digest: off" in digests
    saved = sorted(p.name for p in (tmp_path / "mail").glob("*.eml"))
    assert sorted(name.split("-", 1)[1] for name in saved) == [
        "digest_creator.eml", "digest_leader.eml", "digest_manager.eml", "verify.eml",
        "verify.eml", "verify.eml"]
    [leader] = [name for name in saved if name.endswith("-digest_leader.eml")]
    digest = (tmp_path / "mail" / leader).read_text()
    assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in digest
    assert "Content-ID: <daily>" in digest
    # platform stats: the month's export previewed and applied, the board marks the
    # platform's figures, the reconciliation flags who reported otherwise (and its CSV)
    stats = scene["Platform stats"]
    assert re.search(r"To add: [\d,]+\n.*Refused: 0", stats, re.S)
    assert "Stats import #1 applied" in stats and "📥" in stats
    assert re.search(r"Reconciliation of \d{4}-\d\d: the program.*\d+ differ", stats, re.S)
    assert re.search(r"\[file: reconcile-\d{4}-\d\d\.csv", stats)
    assert "Reconciliation of" in stats and ": Lobos**" in stats
    # a temporary database: no warning about SECRET_KEY
    assert not [r for r in caplog.records if "SECRET_KEY" in r.getMessage()]


def test_offline_settings_never_use_the_real_smtp_login(settings, tmp_path):
    from bot.config import load_settings
    from bot.demo.harness import offline_settings

    real = load_settings(env_file=None, database_path=tmp_path / "real.db",
                         smtp_host="smtp.example.org", smtp_user="ops",
                         smtp_password="hunter2hunter2", discord_token="x" * 60)
    offline = offline_settings(real, tmp_path, smtp_port=2525, mail_dir=tmp_path / "mail")
    assert (offline.smtp_host, offline.smtp_port, offline.smtp_security) == (
        "127.0.0.1", 2525, "none")
    assert offline.smtp_user is None and offline.smtp_password is None
    assert offline.discord_token is None and offline.database_path != real.database_path
    assert offline.public_base_url == f"http://127.0.0.1:{offline.http_port}"


async def test_secret_key_warning_only_for_a_real_database(settings, tmp_path, clock, caplog):
    """A real database without SECRET_KEY warns (its links depend on the key kept there);
    offline mode's database is temporary, so it gets a key for the run and no warning."""
    from bot.db import Database
    from bot.demo.harness import offline_settings
    from bot.services import Services

    async def warned(config) -> bool:
        caplog.clear()
        db = await Database.open(config.database_path)
        try:
            await db.migrate()
            await Services.build(db, config, clock).email.secret()
        finally:
            await db.close()
        return any("SECRET_KEY is not set" in r.getMessage() for r in caplog.records)

    assert settings.secret_key is None
    assert await warned(settings)
    (tmp_path / "offline").mkdir()
    offline = offline_settings(settings, tmp_path / "offline", smtp_port=2525)
    assert offline.secret_key is not None and not await warned(offline)
    again = offline_settings(settings, tmp_path / "offline", smtp_port=2525)
    assert again.secret_key != offline.secret_key  # a new one each run, as the database
    kept = offline_settings(settings.model_copy(update={"secret_key": offline.secret_key}),
                            tmp_path / "offline")
    assert kept.secret_key == offline.secret_key  # the user's own key is kept


async def test_seed_is_a_real_program_with_the_scenes_people_in_it(settings, tmp_path):
    """The demo server runs the builder's ``program`` size: every family has its private
    channel and role, every member holds their family's role and sees its channel and no
    other; the people the scenes act as are in it, in English and the server's zone."""
    from bot.demo.harness import running_demo
    from bot.demo.seed import seed

    async with running_demo(settings, out=io.StringIO(), folder=tmp_path) as demo:
        made = (await seed(demo)).program
        services, guild, emu = demo.bot.services, demo.guild, demo.emu
        families = await services.families.list_families(guild.id)
        assert len(families) == 30 and len(made.creators) == 300
        lobos, osos = made.families[0], made.families[1]
        assert (demo.people["rosa"].id, demo.people["tomas"].id) == (lobos.leader_id,
                                                                     osos.leader_id)
        cast = {"ana", "bruno", "carla", "diego", "elena", "fabio", "gala", "hugo", "ines"}
        assert cast <= {emu.users[u].name for u in lobos.creator_ids}
        assert {"joel", "kira", "leo"} <= {emu.users[u].name for u in osos.creator_ids}
        for name in ("rosa", "ana", "leo"):
            member = await services.members.get(guild.id, demo.people[name].id)
            assert (member.locale, member.timezone, member.discord_locale) == (None, None, "en")
        # nobody else shares a cast member's first name (no carla7 beside carla)
        named = cast | {"rosa", "tomas", "joel", "kira", "leo"}
        assert not [u.name for u in emu.users.values()
                    if u.name not in named and u.name.rstrip("0123456789") in named]
        channels = {f.id: guild.channels.get(f.channel_id or 0) for f in families}
        roles = {f.id: guild.roles.get(f.role_id or 0) for f in families}
        assert all(channels.values()) and all(roles.values())
        assert len({c.id for c in channels.values()}) == 30
        for family in (lobos, osos, made.families[-1]):
            for user_id in family.member_ids:
                user = emu.users[user_id]
                assert roles[family.id] in emu.member_roles(guild, user)
                assert [f for f, c in channels.items() if emu.can_view(guild, user, c)] == [
                    family.id]
        # the bot knows the channels and roles (the scenes look them up by id)
        bot_guild = demo.bot.get_guild(guild.id)
        assert all(bot_guild.get_channel(c.id) for c in channels.values())
        assert all(bot_guild.get_role(r.id) for r in roles.values())
