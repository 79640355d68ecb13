"""Families, joining and leaving on a real SQLite file."""

import pytest

from bot.errors import NotAllowed, NotFound, UserError
from bot.services.families import AGREEMENT_VERSION, Agreement

G, MANAGER, LEADER, ANA, BEN = 1, 10, 20, 30, 40


async def _family(services, name="Lobos", leader=LEADER, **kw):
    return await services.families.create(G, MANAGER, name, leader, channel_id=500, role_id=600,
                                          **kw)


async def _join(services, family, user):
    request = await services.families.request_join(G, user, family.id, AGREEMENT_VERSION)
    return await services.families.decide(G, family.leader_user_id, request.id, True)


async def _error(call, kind=UserError):
    with pytest.raises(kind) as caught:
        await call
    return caught.value.code


async def test_create_makes_leader_a_member_and_audits(services):
    family = await _family(services, capacity=5)
    assert (family.name, family.members, family.capacity) == ("Lobos", 1, 5)
    assert (await services.members.get(G, LEADER)).program_role == "leader"
    assert (await services.families.family_led_by(G, LEADER)).id == family.id
    assert (await services.audit.recent(G))[0].action == "family.create"


async def test_names_are_unique_ignoring_case_and_space(services):
    await _family(services)
    assert await _error(_family(services, "  lobos ", leader=99)) == "families.name_taken"
    assert await _error(_family(services, "", leader=99)) == "families.bad_name"
    assert await _error(_family(services, "!!!", leader=99)) == "families.bad_name"
    assert await _error(_family(services, "Osos", leader=LEADER)) == "families.busy_elsewhere"
    assert await services.db.fetchval("SELECT count(*) FROM families") == 1


async def test_request_approve_makes_a_creator_with_the_agreement(services, clock):
    family = await _family(services)
    request = await services.families.request_join(G, ANA, family.id, AGREEMENT_VERSION)
    assert request.status == "pending" and request.kind == "request"
    decision = await services.families.decide(G, LEADER, request.id, True)
    assert decision.joined.agreement_version == AGREEMENT_VERSION
    assert (await services.members.get(G, ANA)).program_role == "creator"
    assert (await services.families.agreement_of(G, ANA)) == Agreement(AGREEMENT_VERSION,
                                                                      clock.now())
    # A second click finds it decided and changes nothing.
    assert await _error(services.families.decide(G, LEADER, request.id, False)) == (
        "families.already_decided"
    )
    assert (await services.families.get(G, family.id)).members == 2


async def test_bad_joins_change_nothing(services):
    family = await _family(services, capacity=2)
    await services.families.request_join(G, ANA, family.id, AGREEMENT_VERSION)
    assert await _error(
        services.families.request_join(G, ANA, family.id, AGREEMENT_VERSION)
    ) == "families.already_pending"
    assert await _error(
        services.families.request_join(G, BEN, family.id, AGREEMENT_VERSION - 1)
    ) == "families.agreement_outdated"
    await _join(services, family, BEN)
    assert await _error(
        services.families.request_join(G, BEN, family.id, AGREEMENT_VERSION)
    ) == "families.already_member"
    assert await _error(
        services.families.request_join(G, 77, family.id, AGREEMENT_VERSION)
    ) == "families.full"
    assert await _error(services.families.resolve(G, "Nope"), NotFound) == (
        "families.unknown_family"
    )
    pending = await services.db.fetchval(
        "SELECT count(*) FROM family_requests WHERE status = 'pending'"
    )
    assert pending == 1  # Ana's; nothing stored by the refused ones


async def test_only_the_family_leaders_or_a_manager_decide(services):
    lobos = await _family(services)
    osos = await _family(services, "Osos", leader=21)
    request = await services.families.request_join(G, ANA, lobos.id, AGREEMENT_VERSION)
    assert await _error(services.families.decide(G, 21, request.id, True), NotAllowed) == (
        "families.not_your_family"
    )
    assert await _error(services.families.decide(G, ANA, request.id, True), NotAllowed) == (
        "families.not_your_family"
    )
    decision = await services.families.decide(G, MANAGER, request.id, False, as_manager=True)
    assert decision.joined is None and osos.id != lobos.id


async def test_invite_is_accepted_only_by_the_invited_creator(services):
    family = await _family(services)
    assert await _error(
        services.families.invite(G, 21, family.id, ANA, as_manager=False), NotAllowed
    ) == "families.not_your_family"
    invite = await services.families.invite(G, LEADER, family.id, ANA, as_manager=False)
    assert await _error(services.families.decide(G, BEN, invite.id, True), NotAllowed) == (
        "families.not_your_invite"
    )
    decision = await services.families.decide(
        G, ANA, invite.id, True, agreement_version=AGREEMENT_VERSION
    )
    assert decision.joined.user_id == ANA and decision.joined.agreement_version == 1


async def test_leave_needs_a_known_reason_and_leaders_hand_over(services, clock):
    family = await _family(services)
    await _join(services, family, ANA)
    assert await _error(services.families.leave(G, ANA, "bored")) == "families.bad_reason"
    assert await _error(services.families.leave(G, LEADER, "time")) == (
        "families.leader_must_hand_over"
    )
    clock.advance(days=3)
    ended = (await services.families.leave(G, ANA, "earnings", "  not enough  ")).membership
    history = await services.families.history(G, ANA)
    assert (history[0].leave_reason, history[0].leave_note, history[0].ended_by) == (
        "earnings", "not enough", "self"
    )
    assert (await services.members.get(G, ANA)).program_role is None
    assert await _error(services.families.leave(G, ANA, "time")) == "families.not_a_member"
    assert ended.family_id == family.id


async def test_remove_requires_reason_and_the_right_leader(services):
    family = await _family(services)
    await _family(services, "Osos", leader=21)
    await _join(services, family, ANA)
    assert await _error(services.families.remove(G, LEADER, ANA, "  ", as_manager=False)) == (
        "families.reason_required"
    )
    assert await _error(
        services.families.remove(G, 21, ANA, "spam", as_manager=False), NotAllowed
    ) == "families.not_your_family"
    await services.families.remove(G, LEADER, ANA, "spam", as_manager=False)
    (row,) = await services.families.history(G, ANA)
    assert (row.ended_by, row.leave_note) == ("removed", "spam")


async def test_transfer_waits_for_the_receiving_leader(services):
    lobos = await _family(services)
    osos = await _family(services, "Osos", leader=21)
    await _join(services, lobos, ANA)
    request = await services.families.request_transfer(G, ANA, ANA, osos.id, as_manager=False)
    assert await _error(services.families.decide(G, LEADER, request.id, True), NotAllowed) == (
        "families.not_your_family"
    )
    decision = await services.families.decide(G, 21, request.id, True)
    assert decision.left_family.id == lobos.id and decision.joined.family_id == osos.id
    assert [m.ended_by for m in await services.families.history(G, ANA)] == ["transfer", None]
    # A manager's move is immediate; a leader cannot be moved.
    moved = await services.families.request_transfer(G, MANAGER, ANA, lobos.id, as_manager=True)
    assert moved.joined.family_id == lobos.id
    assert await _error(
        services.families.request_transfer(G, MANAGER, 21, lobos.id, as_manager=True)
    ) == "families.leader_must_hand_over"


async def test_appoint_changes_leader_and_the_old_one_stays(services):
    family = await _family(services)
    await _join(services, family, ANA)
    updated = await services.families.appoint(G, MANAGER, family.id, "leader", ANA)
    assert updated.leader_user_id == ANA and updated.members == 2
    assert (await services.members.get(G, LEADER)).program_role == "creator"
    updated = await services.families.appoint(G, MANAGER, family.id, "co_leader", BEN)
    assert updated.co_leader_user_id == BEN and updated.members == 3
    assert await _error(services.families.appoint(G, MANAGER, family.id, "leader", None)) == (
        "families.leader_required"
    )
    cleared = await services.families.appoint(G, MANAGER, family.id, "co_leader", None)
    assert cleared.co_leader_user_id is None
    await services.families.leave(G, BEN, "time")  # no longer a leader, so free to go


async def test_archive_ends_memberships_and_keeps_history(services):
    family = await _family(services)
    await _join(services, family, ANA)
    await services.families.request_join(G, BEN, family.id, AGREEMENT_VERSION)
    done = await services.families.archive(G, MANAGER, family.id)
    archived, ended = done.family, done.ended_user_ids
    assert archived.archived_at is not None and sorted(ended) == [LEADER, ANA]
    assert await services.db.fetchval(
        "SELECT count(*) FROM family_requests WHERE status = 'pending'") == 0
    assert (await services.families.history(G, ANA))[0].ended_by == "archived"
    assert await services.families.list_families(G) == []
    assert len(await services.families.list_families(G, archived=True)) == 1
    # The name is free again.
    await _family(services, leader=99)


async def test_left_server_is_idempotent_and_frees_the_leader_seat(services):
    family = await _family(services)
    await _join(services, family, ANA)
    assert (await services.families.left_server(G, ANA)).family_id == family.id
    assert await services.families.left_server(G, ANA) is None
    assert (await services.families.history(G, ANA))[0].leave_reason == "left_server"
    await services.families.left_server(G, LEADER)
    assert (await services.families.get(G, family.id)).leader_user_id is None


async def test_capacity_and_expected_roles(services):
    family = await _family(services)
    await _join(services, family, ANA)
    assert await _error(services.families.set_capacity(G, MANAGER, family.id, 1)) == (
        "families.capacity_below_members"
    )
    assert (await services.families.set_capacity(G, MANAGER, family.id, 2)).full
    tier = await services.tiers.define(G, MANAGER, "Gold", 1, role_id=700)
    await services.tiers.set_manual(G, MANAGER, ANA, tier, "2026-03")
    roles = await services.families.expected_roles(G)
    expected, managed = roles.by_member, roles.managed
    assert expected == {LEADER: {600}, ANA: {600, 700}}
    assert managed == {600, 700}


async def test_roster_lists_leaders_first_with_tiers(services, clock):
    family = await _family(services)
    clock.advance(days=1)
    await _join(services, family, ANA)
    roster = await services.families.roster(G, family.id)
    assert [(e.user_id, e.role) for e in roster] == [(LEADER, "leader"), (ANA, "creator")]
    assert await services.families.needing_agreement(G, family.id) == [LEADER]
    await services.families.accept_agreement(G, LEADER, AGREEMENT_VERSION)
    assert await services.families.needing_agreement(G, family.id) == []


async def test_a_name_of_digits_is_found_by_name_when_no_family_has_that_id(services):
    family = await services.families.create(G, MANAGER, "2026", LEADER)
    assert (await services.families.resolve(G, "2026")).id == family.id  # typed by hand
    assert (await services.families.resolve(G, str(family.id))).name == "2026"  # autocomplete


async def _role_changes(services):
    rows = await services.db.fetchall(
        "SELECT kind, dedupe_key, target, target_id, role_id, state FROM deliveries"
        " ORDER BY id")
    return [(r["dedupe_key"], r["target"], r["target_id"], r["role_id"]) for r in rows
            if r["kind"] == "family_role"]


async def test_family_roles_are_queued_with_each_membership_event(services):
    """Joining, moving, leaving, a removal and an archive queue the family role change in the
    transaction of the membership change, one key per membership event; the leaders of a new
    family got the role from the cog before it was stored, and leaving the server changes no
    role (the member is gone)."""
    lobos = await _family(services)
    osos = await services.families.create(G, MANAGER, "Osos", 21, channel_id=501, role_id=601)
    assert await _role_changes(services) == []
    joined = (await _join(services, lobos, ANA)).joined
    moved = await services.families.request_transfer(G, MANAGER, ANA, osos.id, as_manager=True)
    assert await _role_changes(services) == [
        (f"family-membership:{joined.id}:join", "role_add", ANA, 600),
        (f"family-membership:{joined.id}:end", "role_remove", ANA, 600),
        (f"family-membership:{moved.joined.id}:join", "role_add", ANA, 601),
    ]
    ben = (await _join(services, lobos, BEN)).joined
    await services.families.remove(G, LEADER, BEN, "Inactive", as_manager=False)
    await services.families.leave(G, ANA, "time")
    cai = (await _join(services, lobos, 50)).joined
    await services.families.left_server(G, 50)
    await services.families.archive(G, MANAGER, lobos.id)
    leader = (await services.families.history(G, LEADER))[-1]
    assert (await _role_changes(services))[3:] == [
        (f"family-membership:{ben.id}:join", "role_add", BEN, 600),
        (f"family-membership:{ben.id}:end", "role_remove", BEN, 600),
        (f"family-membership:{moved.joined.id}:end", "role_remove", ANA, 601),
        (f"family-membership:{cai.id}:join", "role_add", 50, 600),
        (f"family-membership:{leader.id}:end", "role_remove", LEADER, 600),
    ]


async def test_appointing_queues_the_family_role_each_time(services, clock):
    """An appointment gives the family role (new in the family or not: a role taken away by
    hand comes back); each appointment is its own delivery."""
    lobos = await _family(services)
    await _join(services, lobos, ANA)
    await services.families.appoint(G, MANAGER, lobos.id, "co_leader", ANA)
    await services.families.appoint(G, MANAGER, lobos.id, "co_leader", None)
    clock.advance(seconds=1)
    await services.families.appoint(G, MANAGER, lobos.id, "co_leader", ANA)
    appointed = [c for c in await _role_changes(services) if c[0].startswith("family-appoint:")]
    assert [(c[1], c[2], c[3]) for c in appointed] == [("role_add", ANA, 600)] * 2
    assert len({c[0] for c in appointed}) == 2


async def test_roster_and_family_list_pages_match_the_whole_lists(services, clock):
    family = await _family(services, co_leader_id=ANA)
    for user in range(100, 123):  # 23 creators, then the leaders: 25 members
        await _join(services, family, user)
    whole = await services.families.roster(G, family.id)
    pages = [await services.families.roster_page(G, family.id, n, size=10) for n in range(3)]
    assert [p.total for p in pages] == [25] * 3 and pages[0].pages == 3
    assert [e for p in pages for e in p.items] == whole
    assert [e.role for e in pages[0].items[:2]] == ["leader", "co_leader"]
    assert (await services.families.roster_page(G, family.id, 9, size=10)).number == 2
    for n in range(20):
        await _family(services, f"Familia {n:02d}", leader=1000 + n)
    everyone = await services.families.list_families(G)
    listed = [await services.families.families_page(G, n, size=15) for n in range(2)]
    assert listed[0].total == 21 and [f for p in listed for f in p.items] == everyone
