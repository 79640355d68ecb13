"""Discord's hard limits, enforced in one place (bot.limits) whatever a template renders."""

from __future__ import annotations

import discord
from discord import app_commands

from bot import limits
from bot.paging import page_of
from bot.text import fit, split_at_most, split_text


def _more(n: int) -> str:
    return f"… and {n} more"


def test_a_text_that_fits_is_untouched():
    text = "line\n" * 10
    assert fit(text, 2000, _more) == text


def test_a_long_list_is_cut_at_a_line_with_the_count_left_out():
    lines = [f"- member {i:04d} · tier gold · joined 2026-01-01" for i in range(300)]
    text = "**Roster**\n" + "\n".join(lines)
    out = fit(text, 2000, _more)
    assert len(out) <= 2000
    kept = [line for line in out.splitlines() if line.startswith("- member")]
    assert kept == lines[:len(kept)]  # whole lines, in order
    assert out.endswith(f"… and {300 - len(kept)} more")
    assert len(out) > 2000 - len(lines[0]) - 20  # it uses the room it has


def test_one_line_too_long_is_cut_inside_it_and_still_marked():
    out = fit("word " * 1000 + "\nsecond line", 2000, _more)
    assert len(out) <= 2000
    assert "…\n… and 2 more" in out


def test_every_cut_fits_whatever_the_marker_length():
    for size in (1999, 2001, 4000, 50_000):
        text = "\n".join("x" * (i % 97) for i in range(size // 40))
        assert len(fit(text, 2000, lambda n: f"… y {n} más")) <= 2000


def test_split_parts_each_fit_and_keep_every_line():
    text = "\n".join(f"<@{1000 + i}> ✅" for i in range(600))
    parts = split_text(text)
    assert len(parts) > 1 and all(len(p) <= 2000 for p in parts)
    assert "\n".join(parts).splitlines() == text.splitlines()


def test_the_marker_is_localised(templates):
    assert limits.marker(templates, "en")(3) == "… and 3 more"
    assert limits.marker(templates, "es")(3) == "… y 3 más"
    fitted = limits.fit_message(templates, "es", "\n".join(["fila"] * 900))
    assert len(fitted["content"]) <= limits.CONTENT
    assert fitted["content"].endswith("más")


def _embed_total(embeds: list[discord.Embed]) -> int:
    return sum(len(e) for e in embeds)  # discord.py's Embed.__len__ counts as Discord does


def test_embeds_fit_every_limit():
    embeds = []
    for _ in range(14):
        embed = discord.Embed(title="T" * 300, description="line\n" * 2000)
        embed.set_footer(text="f" * 3000)
        embed.set_author(name="a" * 300)
        for _ in range(40):
            embed.add_field(name="n" * 300, value="v\n" * 800)
        embeds.append(embed)
    fitted = limits.fit_embeds(embeds, _more)
    assert len(fitted) <= limits.EMBEDS
    assert _embed_total(fitted) <= limits.EMBED_TOTAL
    for embed in fitted:
        assert len(embed.title or "") <= limits.EMBED_TITLE
        assert len(embed.description or "") <= limits.EMBED_DESCRIPTION
        assert len(embed.footer.text or "") <= limits.FOOTER
        assert len(embed.author.name or "") <= limits.AUTHOR
        assert len(embed.fields) <= limits.EMBED_FIELDS
        for field in embed.fields:
            assert len(field.name or "") <= limits.FIELD_NAME
            assert len(field.value or "") <= limits.FIELD_VALUE


def test_fields_left_out_are_counted():
    embed = discord.Embed(title="Board")
    for i in range(30):
        embed.add_field(name=f"#{i}", value="1")
    [fitted] = limits.fit_embeds([embed], _more)
    assert len(fitted.fields) == 25
    assert fitted.footer.text == "… and 5 more"


def test_a_view_fits():
    view = discord.ui.View()
    view.add_item(discord.ui.Button(label="L" * 200, custom_id="familia:x:1"))
    select: discord.ui.Select[discord.ui.View] = discord.ui.Select(
        custom_id="familia:x:2", placeholder="p" * 300, max_values=40,
        options=[discord.SelectOption(label="o" * 150, value=str(i), description="d" * 150)
                 for i in range(40)])
    view.add_item(select)
    limits.fit_view(view)
    button = view.children[0]
    assert isinstance(button, discord.ui.Button) and len(button.label or "") <= 80
    assert len(select.options) == 25 and select.max_values == 25
    assert len(select.placeholder or "") <= 150
    assert all(len(o.label) <= 100 and len(o.description or "") <= 100 for o in select.options)


def test_autocomplete_answers_at_most_25_choices():
    choices = [app_commands.Choice(name="n" * 150, value=str(i)) for i in range(60)]
    choices.insert(0, app_commands.Choice(name="too long a value", value="v" * 101))
    fitted = limits.fit_choices(choices)
    assert len(fitted) == 25 and fitted[0].value == "0"  # the unusable value is left out
    assert all(len(c.name) <= 100 for c in fitted)


def test_a_page_knows_where_it_is():
    rows = list(range(47))
    page = page_of(rows, 1, 20)
    assert page.items == list(range(20, 40))
    assert (page.number, page.pages, page.has_prev, page.has_next) == (1, 3, True, True)
    last = page_of(rows, 99, 20)  # a page past the end (the list shrank): the last one
    assert last.number == 2 and last.items == list(range(40, 47)) and not last.has_next
    assert page_of([], 0, 20).pages == 1


def test_every_send_goes_through_the_one_place():
    """Cogs answer with ``bot.interactions`` ``reply``/``send``/``edit`` and post through the
    delivery queue: a direct discord.py send would skip the limits."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    direct = (".send(", ".send_message(", ".edit_message(", ".edit_original_response(",
              "followup.edit_message(", ".reply(")
    found = []
    paths = [*(root / "cogs").rglob("*.py"), *(root / "bot/cogkit").rglob("*.py")]
    for path in sorted(paths):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if any(call in line for call in direct):
                found.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
    assert found == []


def test_a_split_report_keeps_to_its_most_messages_the_last_holding_the_rest():
    text = "\n".join(f"line {n} " + "x" * 90 for n in range(200))  # about 10 messages' worth
    parts = split_at_most(text, 5)
    assert len(split_text(text)) > 5 and len(parts) == 5
    assert all(len(p) <= 2000 for p in parts[:4]) and parts[4].endswith("line 199 " + "x" * 90)
    assert split_at_most("short", 5) == ["short"]
