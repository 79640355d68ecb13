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
    assert "Familia Demo already runs a program: 2 families (Soles, Lunas)" in text
    assert "maria ▸ /settings timezone zone:America/Mexico_City" in text
    assert "Time zone: `America/Mexico_City`" in text
    assert "Solo los gestores del programa" in text  # lucia's Discord is Spanish
    assert "Traceback" not in text and "Something went wrong" not in text
    assert "<@" not in text  # mentions shown as names
    # scenes numbered 1, 2, 3… in the order they play
    titles = re.findall(r"━━ (\d+) · (.+) ━━", text)
    assert [int(n) for n, _ in titles] == list(range(1, len(titles) + 1))
    assert [t for _, t in titles] == [
        "Setting up the program", "Families", "A check-in day", "Reminders", "Tiers",
        "Leaderboards and progress", "A campaign", "Broadcasts", "Moving and leaving", "Email",
        "Weekly digests"]
    scene = dict(zip([t for _, t in titles], re.split(r"\n━━ \d+ · .+ ━━\n", text)[1:],
                     strict=True))
    # families: the leader a manager appointed is asked to accept the agreement, and does
    assert "#estrellas" in scene["Families"]
    assert "DM to sofia" in scene["Families"]
    assert "@maria made you the leader of the family **Estrellas**" in scene["Families"]
    assert "you accepted version 1 of the program agreement" in scene["Families"]
    assert "**Roster of Estrellas** (2)" in scene["Families"]
    assert "agreement not accepted" not in scene["Families"]
    assert "[Give feedback]" in scene["A check-in day"] and "DM to lucia" in text
    # reminders: the roll-call names who has not checked in, the summary, what was sent
    assert "**Roll-call for" in scene["Reminders"] and "@ana" in scene["Reminders"]
    assert "**Daily summary for" in scene["Reminders"]
    assert "personal reminder: sent by DM" in scene["Reminders"]
    # tiers: a preview, then the promotions in the family channels
    assert "**Tier preview for" in scene["Tiers"]
    assert "#soles" in scene["Tiers"] and "reached the tier Silver!" in scene["Tiers"]
    assert "[Enrol | My progress]" in scene["A campaign"]
    assert "“Spring push” has ended" in text and "campaign-1-results.csv" in text
    assert "Announcements in the family channels: 2 posted, 0 failed." in scene["A campaign"]
    # every family has its channel: the broadcast reaches all three
    assert "Family channels: 3 family channels\n" in scene["Broadcasts"]
    assert "no channel" not in text
    assert "Family channels: 3 sent, 0 failed, 0 waiting" in scene["Broadcasts"]
    moving = scene["Moving and leaving"]
    assert "@carla joined Lunas (approved by @tomas)" in moving
    assert "You left Soles (Personal reasons)" in moving and "@gala left the family" in moving
    assert "**Stats of Soles**" in moving and "- Moved to another family: 1" in moving
    assert "**Program stats**" in moving
    # email: a code by mail (Spanish for lucía); the digests; one-click unsubscribe; .eml
    assert "✉ email to lucia@example.org: “Tu código de Familia" in scene["Email"]
    assert "That code is not right" in scene["Email"]
    digests = scene["Weekly digests"]
    assert "✉ email to sofia@example.org: “Estrellas: your family's week”" in digests
    assert "1. lucia: 3.5 hours" in digests
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
