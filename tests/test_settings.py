from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings


def test_defaults_without_environment(monkeypatch):
    monkeypatch.delenv("DATABASE_PATH", raising=False)
    settings = load_settings(env_file=None)
    assert settings.database_path == Path("./familia.db")
    assert settings.default_locale == "en"
    assert settings.discord_token is None


def test_reads_environment_and_env_file(tmp_path, monkeypatch):
    env = tmp_path / ".env"
    env.write_text("DEFAULT_TIMEZONE=America/Bogota\nDEV_GUILD_ID=1234\nSMTP_PORT=2525\n")
    monkeypatch.setenv("DEFAULT_LOCALE", "es")
    settings = load_settings(env_file=env)
    assert settings.default_timezone == "America/Bogota"
    assert settings.dev_guild_id == 1234
    assert settings.smtp_port == 2525
    assert settings.default_locale == "es"


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("SMTP_PORT", "abc", "SMTP_PORT is invalid: expected a whole number 1-65535."),
        ("SMTP_PORT", "70000", "SMTP_PORT is invalid: expected a whole number 1-65535."),
        ("DEFAULT_TIMEZONE", "Mars/Base", "DEFAULT_TIMEZONE is invalid: expected an IANA"),
        ("DEFAULT_LOCALE", "fr", "DEFAULT_LOCALE is invalid: expected en or es."),
        ("SMTP_SECURITY", "ssl", "SMTP_SECURITY is invalid: expected one of none, starttls"),
        ("PUBLIC_BASE_URL", "ftp://x", "PUBLIC_BASE_URL is invalid: expected an http(s) URL"),
        ("DEV_GUILD_ID", "-4", "DEV_GUILD_ID is invalid: expected a Discord server id"),
        ("LOG_LEVEL", "LOUD", "LOG_LEVEL is invalid: expected one of DEBUG"),
    ],
)
def test_bad_value_names_variable_and_form(monkeypatch, variable, value, expected):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as caught:
        load_settings(env_file=None)
    message = str(caught.value)
    assert message.startswith(expected)
    assert "\n" not in message


def test_secrets_are_masked_in_repr(monkeypatch):
    monkeypatch.setenv("DISCORD_TOKEN", "MTIz.very-secret-token")
    monkeypatch.setenv("SMTP_PASSWORD", "hunter2hunter2")
    settings = load_settings(env_file=None)
    shown = repr(settings) + str(settings) + str(settings.model_dump())
    assert "very-secret-token" not in shown
    assert "hunter2hunter2" not in shown
    assert settings.discord_token.get_secret_value() == "MTIz.very-secret-token"
    assert set(settings.secrets()) == {"MTIz.very-secret-token", "hunter2hunter2"}


def test_bad_secret_value_is_not_echoed(monkeypatch):
    monkeypatch.setenv("SMTP_PORT", "s3cr3t-looking")
    with pytest.raises(ConfigError) as caught:
        load_settings(env_file=None)
    assert "s3cr3t-looking" not in str(caught.value)


def test_env_example_documents_every_setting():
    from bot.config import Settings

    example = (Path(__file__).parent.parent / ".env.example").read_text()
    documented = {line.split("=")[0].lstrip("# ").strip() for line in example.splitlines()
                  if "=" in line}
    assert {name.upper() for name in Settings.model_fields} <= documented
