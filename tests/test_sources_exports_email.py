"""An export past Discord's attachment size goes by email (#18, must-have 6): the outbox keeps
its file (email_attachments), the sender builds a multipart/mixed message with it, and the
real SMTP server (aiosmtpd) receives the very bytes; a leader, a manager without a verified
address and a file past what Familia emails are refused with what to do, in both languages.
Mail without files is built as before."""

from __future__ import annotations

import pytest

from bot.errors import UserError
from bot.mail import outbox
from bot.mail.smtp import build_message
from bot.services.exports import EMAIL_MAX_MB
from tests._email import body, make_sender, verified

G, MANAGER, LEADER = 1, 10, 20
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def send(services, user=MANAGER, *, as_manager=True, data=b"PK\x03\x04" + bytes(range(256)) * 40,
         name="familia-exportación-2026-03.xlsx", locale="es"):
    return services.exports.send_by_email(
        G, user, as_manager=as_manager, filename=name, data=data, size_mb=12.5, limit_mb=10,
        locale=locale, kind="checkins", rows=1234, period="2026-03", family="Lobos")


async def test_a_managers_export_arrives_by_email_with_its_file(services, smtp):
    await verified(services, MANAGER, "mara@example.org")
    data = b"PK\x03\x04" + bytes(range(256)) * 40
    masked = await send(services, data=data)
    assert "mara@example.org" not in masked and masked.endswith(".org")
    assert await send(services, data=data) == masked  # the same file the same day: once
    assert await make_sender(services, smtp).drain() == 1
    [msg] = smtp.to("mara@example.org")
    assert msg.get_content_type() == "multipart/mixed"
    assert msg["Subject"] == "Tu exportación de Familia: familia-exportación-2026-03.xlsx"
    assert "Adjuntamos tu exportación (registros): 1.234 filas, 12,5 MB" in body(msg, "plain")
    assert "Familia: Lobos." in body(msg, "html")
    [attached] = list(msg.iter_attachments())
    assert attached.get_content_type() == XLSX
    assert attached.get_filename() == "familia-exportación-2026-03.xlsx"
    assert attached.get_content() == data


async def test_who_cannot_have_it_by_email_is_told_what_to_do(services, smtp, templates):
    with pytest.raises(UserError) as caught:  # a leader: narrow it, as before
        await send(services, LEADER, as_manager=False)
    assert caught.value.code == "exports.too_big"
    with pytest.raises(UserError) as caught:  # a manager without a verified address
        await send(services)
    assert caught.value.code == "exports.too_big_no_address"
    for locale, words in (("en", "Familia can email it to you: set and verify your address"
                                 " with /email set"),
                          ("es", "Familia puede enviártela por correo: indica y verifica tu"
                                 " dirección con /email set")):
        assert words in templates.render_error(locale, caught.value)
    await verified(services, MANAGER, "mara@example.org")
    with pytest.raises(UserError) as caught:
        await send(services, data=b"x" * (EMAIL_MAX_MB * 2**20 + 1))
    assert caught.value.code == "exports.too_big_for_email"
    assert "más de lo que Familia envía por correo (18 MB)" in templates.render_error(
        "es", caught.value)
    assert await services.db.fetchval("SELECT count(*) FROM email_outbox") == 0


async def test_only_kinds_that_carry_files_take_them_and_plain_mail_is_unchanged(services):
    plain = outbox.Email("a@example.org", "test", "k1", "Hi", "text", "<p>html</p>", {})
    with_file = outbox.Email("a@example.org", "test", "k2", "Hi", "text", "<p>html</p>", {},
                             attachments=(outbox.Attachment("a.csv", "text/csv", b"a,b"),))
    async with services.db.transaction() as tx:
        assert await outbox.enqueue(tx, plain, services.clock.now())
        with pytest.raises(ValueError):
            await outbox.enqueue(tx, with_file, services.clock.now())
    row = {"dedupe_key": "k1", "recipient": "a@example.org", "subject": "Hi",
           "headers": "{}", "body_text": "text", "body_html": "<p>html</p>", "images": None}
    data = build_message(row, "Familia <f@example.org>")
    assert b"multipart/mixed" not in data and b"Content-Disposition: attachment" not in data
    assert build_message({**row, "attachments": []}, "Familia <f@example.org>") == data
