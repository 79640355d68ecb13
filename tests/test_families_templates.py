"""Every families template renders in English and Spanish with realistic data."""

from datetime import UTC, datetime

import pytest

from bot.cogkit.discord_ops import RolePlan
from bot.errors import NotAllowed, UserError
from bot.paging import page_of
from bot.services.families import Agreement, Family, FamilyRequest, Membership, RosterEntry
from bot.services.kpis import FamilyStats, Quality
from bot.services.tiers import Tier, TierChange

NOW = datetime(2026, 3, 2, 15, tzinfo=UTC)
FAMILY = Family(1, 9, "Lobos *del* Sur", 20, 21, 10, 500, 600, NOW, None, 3)
REQUEST = FamilyRequest(5, 9, 1, 30, "request", "pending", None, 30, None, None)
MEMBERSHIP = Membership(1, 1, "Lobos", 30, NOW, 1, NOW, "self", "earnings", None)
GOLD = Tier(2, "Gold", 2, 700, 40.0, 1000, None, None)
STATS = FamilyStats(NOW, NOW, 4, 2, 5, 3, 1.0, 12.5, {"earnings": 2, "removed": 1})
QUALITY = Quality(checkins=8, with_feedback=6, median_response_minutes=95)


@pytest.mark.parametrize("locale", ["en", "es"])
def test_family_messages_render(templates, locale):
    def render(name, **ctx):
        return templates.render(locale, f"discord/families/{name}.md.j2", **ctx)

    card = render("updated", family=FAMILY, changed="create")
    assert "Lobos \\*del\\* Sur" in card and "<@20>" in card and "3 / 10" in card
    assert "<@21>" in render("info", family=FAMILY, membership=MEMBERSHIP, needs_agreement=True)
    program = render("stats", family=None, stats=STATS, quality=QUALITY, days=30)
    # the locale's own percent sign and spacing (Spanish: a no-break space before it)
    assert ("Attrition: 100%" in program) or ("Deserción: 100\xa0%" in program)
    assert ("1 hour 35 minutes" in program) or ("1 hora 35 minutos" in program)
    assert ("(75%)" in program) or ("(75\xa0%)" in program)
    assert "13" in program and ("Earnings: 2" in program or "Ganancias: 2" in program)
    assert "Lobos" in render("stats", family=FAMILY, stats=STATS, quality=Quality(0, 0, None),
                             days=30)
    join = render("join", family=FAMILY, invited=False, version=1)
    assert "(version 1)" in join or "(versión 1)" in join
    assert "<@30>" in render("request", request=REQUEST, family=FAMILY)
    render("decided", request=REQUEST, family=FAMILY, approved=False, actor_id=20)
    render("invite", family=FAMILY, inviter_id=20, version=1)
    render("invite_sent", family=FAMILY, user_id=30, dm_sent=False)
    render("left", family=FAMILY, reason="moved_agency")
    render("history", user_id=30, page=page_of([MEMBERSHIP], 0, 15))
    roster = render("roster", family=FAMILY,
                    page=page_of([RosterEntry(30, "leader", None, NOW, None)] * 12, 1, 10))
    assert "(12)" in roster and ("page 2 of 2" in roster or "página 2 de 2" in roster)
    assert roster.count("<@30>") == 2
    render("list", page=page_of([FAMILY], 0, 15))
    plan = RolePlan(changes=[(30, [600], [700])], missing_channels=[FAMILY])
    assert "+<@&600>" in render("sync", plan=plan, applied=False)
    applied = render("sync", plan=plan, applied=True, pending=3, failed=1)
    assert ("3 role changes are still on their way" in applied
            or "3 cambios de rol siguen en camino" in applied)
    assert "1 role change was refused" in applied or "rechazó 1 cambio de rol" in applied
    render("agreement", accepted=Agreement(1, NOW), current=1, just_accepted=False)
    render("tiers", tiers=[GOLD], changed=True)
    change = TierChange(30, 1, None, GOLD)
    render("sweep", changes=[change], applied=False, period="2026-02")
    # a whole program's changes: the first ones, a count of the rest, and the way to apply
    cut = render("sweep", changes=[change], more=3665, applied=False, period="2026-02")
    assert "3,665 more" in cut or "3665 más" in cut or "3.665 más" in cut
    assert "apply:True" in cut or "aplicar:True" in cut
    assert "Gold" in render("promotions", changes=[change])
    for name in ("request_sent", "transferred"):
        render(name, family=FAMILY, posted=False, user_id=30, done=False)


@pytest.mark.parametrize("locale", ["en", "es"])
def test_family_errors_render(templates, locale):
    errors = [
        UserError("families.full", name="Lobos", capacity=3),
        UserError("families.capacity_below_members", members=2),
        UserError("families.already_decided", status="approved"),
        UserError("families.bad_reason", choices=("time",)),
        NotAllowed("families.leaders_only"),
        UserError("families.rank_taken", rank=1, name="Gold"),
    ]
    for error in errors:
        assert templates.render_error(locale, error)
