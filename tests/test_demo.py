"""The offline demo plays every scene against the emulator and reads like a transcript."""

import io

import pytest

from bot.demo.play import demo_main


@pytest.mark.slow
async def test_demo_transcript(settings, tmp_path):
    out = io.StringIO()
    assert await demo_main(settings, out=out, mail_dir=tmp_path / "mail") == 0
    text = out.getvalue()
    assert "maria ▸ /settings timezone zone:America/Mexico_City" in text
    assert "Time zone: `America/Mexico_City`" in text
    assert "Solo los gestores del programa" in text  # lucia's Discord is Spanish
    assert "Traceback" not in text
    assert "━━ 2 · Families ━━" in text and "#estrellas" in text
    assert "<@" not in text  # mentions shown as names
    assert "━━ 3 · A check-in day ━━" in text and "[Give feedback]" in text
    assert "DM to lucia" in text
    assert "━━ 5b · A campaign ━━" in text and "[Enrol | My progress]" in text
    assert "“Spring push” has ended" in text and "campaign-1-results.csv" in text
    # email: a code by mail (Spanish for lucía), a digest, one-click unsubscribe, .eml files
    assert "━━ 7 · Email ━━" in text
    assert "✉ email to lucia@example.org: “Tu código de Familia" in text
    assert "That code is not right" in text
    assert "✉ email to sofia@example.org: “Estrellas: your family's week”" in text
    assert "1. lucia: 3.5 hours" in text
    assert "the bot answers 200 OK" in text and "Weekly digest: off" in text
    saved = sorted(p.name for p in (tmp_path / "mail").glob("*.eml"))
    assert saved[-1].endswith("-digest_leader.eml") and len(saved) == 3
    digest = (tmp_path / "mail" / saved[-1]).read_text()
    assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in digest
    assert "Content-ID: <daily>" in digest


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
