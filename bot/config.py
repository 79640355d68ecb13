"""Typed settings, built once in ``main()`` from the environment and ``.env``.

Nothing here runs at import time: call :func:`load_settings`.
"""

from __future__ import annotations

import zoneinfo
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, FilePath, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SUPPORTED_LOCALES = ("en", "es")


class ConfigError(Exception):
    """A setting is missing or malformed; the message is one line, safe to print."""


class Settings(BaseSettings):
    """Every variable is documented in ``.env.example``."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    discord_token: SecretStr | None = Field(
        default=None, description="the bot token from the Discord developer portal"
    )
    database_path: Path = Field(
        default=Path("./familia.db"), description="a file path such as ./familia.db"
    )
    smtp_host: str = Field(default="localhost", description="a host name such as smtp.example.org")
    smtp_port: int = Field(default=587, ge=1, le=65535, description="a whole number 1-65535")
    smtp_security: Literal["none", "starttls", "tls"] = Field(
        default="starttls", description="one of none, starttls, tls"
    )
    smtp_ca_file: FilePath | None = Field(
        default=None, description="a PEM file of the certificate authorities to trust"
    )
    smtp_user: str | None = Field(default=None, description="the SMTP login name")
    smtp_password: SecretStr | None = Field(default=None, description="the SMTP password")
    smtp_from: str = Field(
        default="Familia <familia@localhost>",
        description='a sender such as "Familia <familia@example.org>"',
    )
    public_base_url: str = Field(
        default="http://127.0.0.1:8080",
        description="an http(s) URL such as https://familia.example.org",
    )
    http_host: str = Field(default="127.0.0.1", description="an address to listen on")
    http_port: int = Field(default=8080, ge=0, le=65535, description="a whole number 0-65535")
    console_port: int = Field(
        default=8090, ge=0, le=65535,
        description="a whole number 0-65535 (offline only: the emulator's web console; 0: any)",
    )
    secret_key: SecretStr | None = Field(
        default=None, description="a long random string used to sign links"
    )
    default_timezone: str = Field(
        default="UTC", description="an IANA time zone such as America/Mexico_City"
    )
    default_locale: Literal["en", "es"] = Field(default="en", description="en or es")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="one of DEBUG, INFO, WARNING, ERROR"
    )
    checkin_edit_cutoff_hour: int = Field(
        default=12, ge=0, le=23,
        description="an hour 0-23 (local) until which yesterday's check-in can be changed",
    )
    checkin_valid_day_hours: float = Field(
        default=1.0, ge=0, le=24, description="hours live (0-24) that make a day count for tiers"
    )
    reminder_grace_hours: float = Field(
        default=6, ge=0, le=23, description="hours (0-23) a missed reminder is still sent late"
    )
    reminder_sweep_seconds: int = Field(
        default=60, ge=5, le=3600, description="seconds between reminder sweeps (5-3600)"
    )
    outbox_dir: Path | None = Field(
        default=None, description="a folder where each delivered email is also saved as .eml"
    )
    email_connections: int = Field(
        default=3, ge=1, le=10, description="SMTP connections used in parallel (1-10)"
    )
    email_render_processes: int = Field(
        default=1, ge=0, le=8,
        description="worker processes that render big email batches (0-8; 0: in the bot)",
    )
    broadcast_rate: float = Field(
        default=48.0, gt=0, le=50,
        description="requests per second (at most 50) the broadcast sender may use",
    )
    dev_guild_id: int | None = Field(
        default=None, gt=0, description="a Discord server id (a long number) or empty"
    )

    @field_validator("default_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("unknown time zone") from exc
        return value

    @field_validator("public_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")) or len(value) < 10:
            raise ValueError("not an http(s) URL")
        return value.rstrip("/")

    @field_validator("smtp_from")
    @classmethod
    def _sender(cls, value: str) -> str:
        from email.utils import parseaddr

        _, addr = parseaddr(value)
        if "@" not in addr:
            raise ValueError("no email address")
        return value

    @field_validator("discord_token", "smtp_password", "secret_key", "smtp_user", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("dev_guild_id", "outbox_dir", "smtp_ca_file", mode="before")
    @classmethod
    def _empty_id(cls, value: object) -> object:
        return None if value == "" else value

    def secrets(self) -> list[str]:
        """Secret values, so the log filter can mask them wherever they appear."""
        found = []
        for field in (self.discord_token, self.smtp_password, self.secret_key):
            if field is not None and field.get_secret_value():
                found.append(field.get_secret_value())
        return found


def load_settings(env_file: str | Path | None = ".env", **overrides: Any) -> Settings:
    """Build the settings or raise :class:`ConfigError` naming the bad variable."""
    try:
        return Settings(_env_file=env_file, **overrides)  # type: ignore[call-arg]  # init-only
    except ValidationError as exc:
        error = exc.errors()[0]
        name = str(error["loc"][0]) if error["loc"] else "?"
        field = Settings.model_fields.get(name)
        expected = field.description if field else "a valid value"
        raise ConfigError(f"{name.upper()} is invalid: expected {expected}.") from None
