"""Campaigns on a real SQLite file with time travel: what a manager may ask for, the state
machine, enrolment, announcements queued once (also late, twice or concurrently), the results
snapshot with uplift, reward roles and the CSV."""

import asyncio
import csv
import io
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest

from bot.cogkit.options import CampaignDateOption, Refused
from bot.errors import NotAllowed, UserError
from bot.localtime import LocalMoment, parse_local
from bot.program import CheckinRow, record_checkins
from bot.services.campaigns import MANAGERS, Spec
from bot.services.campaigns.arithmetic import Uplift, best_streak, group, ranked
from bot.services.families import AGREEMENT_VERSION

G, MANAGER, LEADER, OTHER_LEADER = 1, 10, 20, 21
ANA, BEN, CLA, DAN = 30, 31, 32, 33
FIRST = date(2026, 3, 3)  # the clock is Monday 2026-03-02 15:00 UTC; the guild zone is UTC


async def stat(services, user, day, hours, diamonds=0):
    await record_checkins(services, G, [CheckinRow(user, day, hours, diamonds)])


async def family(services, name, leader, members, channel_id):
    fam = await services.families.create(G, MANAGER, name, leader, channel_id=channel_id)
    for user in members:
        # invited and accepted: their own decision, nobody is told (the queue is counted)
        invite = await services.families.invite(G, leader, fam.id, user, as_manager=False)
        await services.families.decide(G, user, invite.id, True,
                                       agreement_version=AGREEMENT_VERSION)
    return fam


@pytest.fixture
async def program(services):
    lobos = await family(services, "Lobos", LEADER, [ANA, BEN], 500)
    osos = await family(services, "Osos", OTHER_LEADER, [CLA, DAN], None)  # no channel
    return lobos, osos


BASE = {"name": "March push", "metric": "hours", "start": "2026-03-03", "end": "2026-03-16",
        "target_creator": 10.0}


async def render(post):
    """A stage post's payload, as the cog would render it (its words do not matter here)."""
    return {"content": f"{post.stage} for family {post.family_id}"}


def local(text: str) -> LocalMoment:
    """A campaign date as the start/end options read it (written readably here)."""
    found = parse_local(text)
    assert found is not None, text
    return found


def spec(**changes) -> Spec:
    fields = BASE | changes
    return Spec(**fields | {"start": local(fields["start"]), "end": local(fields["end"])})


async def requested(services, **changes) -> Spec:
    """What /campaign new hands the service: the dates read by their option (which refuses
    an unreadable one in the campaign's words)."""
    fields = BASE | changes
    author = SimpleNamespace(guild_id=G, user=SimpleNamespace(id=MANAGER),
                             client=SimpleNamespace(services=services),
                             namespace=SimpleNamespace(campaign=None))
    try:
        dates = {name: await CampaignDateOption().transform(author, fields[name])
                 for name in ("start", "end")}
    except Refused as refused:
        raise refused.original from None
    return Spec(**fields | dates)


async def count(services, table):
    return await services.db.fetchval(f"SELECT count(*) FROM {table}")


@pytest.mark.parametrize(("changes", "code"), [
    ({"end": "2026-03-01"}, "campaigns.end_before_start"),
    ({"target_creator": 0.0}, "campaigns.bad_target"),
    ({"target_creator": -5.0}, "campaigns.bad_target"),
    ({"target_creator": None}, "campaigns.target_needed"),
    ({"start": "2026-03-01"}, "campaigns.start_in_past"),
    ({"start": "2026-03-02 14:00"}, "campaigns.start_in_past"),
    ({"start": "3rd of March"}, "campaigns.bad_date"),
    ({"end": "2026-02-30"}, "campaigns.bad_date"),
    ({"end": "2026-07-01"}, "campaigns.too_long"),
    ({"audience": "families", "audience_ids": []}, "campaigns.ids_needed"),
    ({"audience": "families", "audience_ids": [999]}, "campaigns.empty_audience"),
    ({"metric": "days", "target_creator": 20.0}, "campaigns.target_unreachable"),
    ({"metric": "days", "target_creator": 2.5}, "campaigns.whole_days"),
    ({"name": "  "}, "campaigns.bad_name"),
    ({"description": "x" * 1501}, "campaigns.too_long_text"),
])
async def test_bad_requests_are_refused_and_nothing_is_stored(services, program, changes, code):
    with pytest.raises(UserError) as caught:
        await services.campaigns.create(G, MANAGER, await requested(services, **changes))
    assert caught.value.code == code
    assert await count(services, "campaigns") == 0


async def test_today_is_a_valid_start_and_names_are_unique(services, program):
    await services.campaigns.create(G, MANAGER, spec(start="2026-03-02"))
    with pytest.raises(UserError) as caught:
        await services.campaigns.create(G, MANAGER, spec(name="MARCH PUSH"))
    assert caught.value.code == "campaigns.name_taken"


async def test_life_cycle_reminders_results_and_rewards(services, clock, program):
    lobos, _ = program
    c = await services.campaigns.create(
        G, MANAGER, spec(target_family=25.0, reward_role_id=77, reward_text="A badge"))
    assert c.state == "draft"
    with pytest.raises(UserError):  # only scheduled or running campaigns take enrolments
        await services.campaigns.enrol(G, ANA, c.id, "command")
    c = await services.campaigns.schedule(G, MANAGER, c.id)
    assert c.state == "scheduled"
    assert (await services.campaigns.enrol(G, ANA, c.id, "button")).added is True
    assert (await services.campaigns.enrol(G, ANA, c.id, "command")).added is False
    await services.campaigns.enrol(G, BEN, c.id, "button")
    with pytest.raises(NotAllowed):  # not in any family of the audience
        await services.campaigns.enrol(G, 999, c.id, "command")

    assert await services.campaigns.sweep() == {"started": [], "reminded": [], "finished": []}
    # Before the campaign: the baseline for the uplift (Ana 4 h, Cla 4 h).
    await stat(services, ANA, date(2026, 2, 20), 4)
    await stat(services, CLA, date(2026, 2, 20), 4)
    clock.set(datetime(2026, 3, 3, 0, 1, tzinfo=UTC))
    done = await asyncio.gather(services.campaigns.sweep(), services.campaigns.sweep())
    assert sorted(d["started"] for d in done) == [[], [c.id]]
    posts = await services.db.fetchall("SELECT stage, family_id, state, error FROM campaign_posts")
    assert sorted(tuple(p) for p in posts) == [
        ("start", lobos.id, "pending", None), ("start", program[1].id, "skipped", "no_channel")]

    await stat(services, ANA, date(2026, 3, 4), 8)
    await stat(services, ANA, date(2026, 3, 5), 4)
    await stat(services, BEN, date(2026, 3, 5), 3)
    await stat(services, CLA, date(2026, 3, 5), 6)  # not enrolled
    progress = await services.campaigns.progress_of(G, ANA, None)
    assert (progress.value, progress.rank, progress.enrolled) == (12.0, 1, True)
    assert progress.bar == "▰" * 10
    assert progress.family.total == 15.0 and progress.family.bar == "▰" * 6 + "▱" * 4

    clock.set(datetime(2026, 3, 10, 1, 0, tzinfo=UTC))  # past midway (10 March 00:00)
    assert (await services.campaigns.sweep())["reminded"] == [c.id]
    assert (await services.campaigns.sweep())["reminded"] == []
    clock.set(datetime(2026, 3, 16, 11, 0, tzinfo=UTC))  # down through "3 days left"
    await services.campaigns.sweep()
    stages = {tuple(r) for r in await services.db.fetchall(
        "SELECT stage, state FROM campaign_posts WHERE family_id = ?", (lobos.id,))}
    assert ("3days", "skipped") in stages and ("lastday", "pending") in stages

    clock.set(datetime(2026, 3, 17, 0, 0, tzinfo=UTC))  # over, but 16 March is still open
    assert (await services.campaigns.sweep())["finished"] == []
    with pytest.raises(UserError) as caught:
        await services.campaigns.results(G, c.id)
    assert caught.value.code == "campaigns.results_pending"
    assert caught.value.params["at"] == datetime(2026, 3, 17, 12, 0, tzinfo=UTC)
    with pytest.raises(UserError) as caught:  # nobody enrols in a campaign that is over
        await services.campaigns.enrol(G, CLA, c.id, "button")
    assert caught.value.code == "campaigns.ended"
    clock.set(datetime(2026, 3, 17, 12, 0, tzinfo=UTC))  # the check-in window closed
    assert (await services.campaigns.sweep())["finished"] == [c.id]
    assert (await services.campaigns.sweep())["finished"] == []
    results = await services.campaigns.results(G, c.id)
    assert results.final_at == datetime(2026, 3, 17, 12, 0, tzinfo=UTC)
    # The audience is every family's creators; the leaders did not stream, so they do not
    # count (the default rule).
    assert (results.audience, results.participants, results.reached) == (4, 2, 1)
    assert results.participation == pytest.approx(1 / 2) and results.completion == 0.5
    assert results.families[0]["name"] == "Lobos" and results.families[0]["total"] == 15.0
    assert results.families[0]["goal_met"] is False
    # Participants went from 2 h to 7.5 h on average, the others 2 h → 3 h; nobody was in
    # the program before the campaign, so there is no baseline to measure an uplift on.
    assert results.uplift.participants.change == pytest.approx(5.5)
    assert results.uplift.others.change == pytest.approx(1.0)
    assert results.uplift.difference is None
    # The reward role was queued with the results: one role to add, to Ana.
    rewards = await services.db.fetchall(
        "SELECT target, target_id, role_id, state FROM deliveries WHERE kind = ?",
        ("campaign_reward",))
    assert [tuple(r) for r in rewards] == [("role_add", ANA, 77, "queued")]
    assert (await services.campaigns.results(G, c.id)).rewards == {"pending": 1, "none": 5}
    # (the rows keep everyone in the audience, leaders too: a leader may earn a reward)
    [given] = await services.deliveries.claim()  # the sender gives it
    await services.deliveries.done(given)
    assert await services.deliveries.claim() == []

    rows = list(csv.DictReader(io.StringIO(await services.campaigns.results_csv(G, c.id))))
    assert [(r["user_id"], r["hours"], r["reached"], r["reward"]) for r in rows[:2]] == [
        (str(ANA), "12", "1", "granted"), (str(BEN), "3", "0", "none")]
    assert {r["participant"] for r in rows[2:]} == {"0"}

    with pytest.raises(UserError) as caught:
        await services.campaigns.update(G, MANAGER, c.id, spec(description="new"))
    assert caught.value.code == "campaigns.not_editable"
    with pytest.raises(UserError):
        await services.campaigns.cancel(G, MANAGER, c.id)


async def test_running_campaign_keeps_its_rules(services, clock, program):
    c = await services.campaigns.create(G, MANAGER, spec(enrolment="auto"))
    await services.campaigns.schedule(G, MANAGER, c.id)
    clock.set(datetime(2026, 3, 4, 9, 0, tzinfo=UTC))
    await services.campaigns.sweep()
    c = await services.campaigns.get(G, c.id)
    with pytest.raises(UserError) as caught:
        await services.campaigns.update(G, MANAGER, c.id, replace(c.spec(), target_creator=5.0))
    assert caught.value.code == "campaigns.locked_while_running"
    edited = await services.campaigns.update(
        G, MANAGER, c.id, replace(c.spec(), end=local("2026-03-20"), description="Longer now"))
    assert (edited.last_day, edited.description) == (date(2026, 3, 20), "Longer now")
    assert await count(services, "campaign_enrolments") == 6  # automatic: every roster
    with pytest.raises(UserError) as caught:
        await services.campaigns.enrol(G, ANA, c.id, "button")
    assert caught.value.code == "campaigns.automatic"


async def test_cancel_stops_pending_announcements(services, clock, program):
    c = await services.campaigns.create(G, MANAGER, spec())
    await services.campaigns.schedule(G, MANAGER, c.id)
    clock.set(datetime(2026, 3, 3, 1, 0, tzinfo=UTC))
    await services.campaigns.sweep()
    await services.campaigns.cancel(G, MANAGER, c.id)
    assert await services.campaigns.queue_posts(render) == {}
    clock.set(datetime(2026, 3, 20, tzinfo=UTC))
    assert await services.campaigns.sweep() == {"started": [], "reminded": [], "finished": []}


async def test_a_campaign_missed_entirely_posts_only_its_results(services, clock, program):
    c = await services.campaigns.create(G, MANAGER, spec(end="2026-03-04"))
    await services.campaigns.schedule(G, MANAGER, c.id)
    clock.set(datetime(2026, 3, 6, tzinfo=UTC))
    await services.campaigns.sweep()
    stages = [r["stage"] for r in await services.db.fetchall(
        "SELECT stage FROM campaign_posts WHERE state = 'pending'")]
    assert stages == ["results"]


async def test_posts_are_queued_once_and_reported_as_the_queue_has_them(services, clock,
                                                                         program):
    c = await services.campaigns.create(G, MANAGER, spec())
    await services.campaigns.schedule(G, MANAGER, c.id)
    clock.set(datetime(2026, 3, 3, 1, 0, tzinfo=UTC))
    await services.campaigns.sweep()
    first, second = await asyncio.gather(services.campaigns.queue_posts(render),
                                         services.campaigns.queue_posts(render))
    assert sum(len(keys) for found in (first, second) for keys in found.values()) == 1
    [post] = await services.deliveries.claim()
    assert (post.kind, post.target, post.target_id) == ("campaign_post", "channel", 500)
    await services.deliveries.retry(post, "TimeoutError")  # a temporary failure
    [again] = await services.deliveries.claim()
    assert again.attempts == 2
    await services.deliveries.part_sent(again, 0, 42)
    report = await services.campaigns.post_report(c.id)
    assert (report.states, report.reasons) == ({"sent": 1, "skipped": 1}, {})


def test_best_streak_counts_only_days_inside_the_window():
    days = {date(2026, 3, d) for d in (1, 2, 3, 4, 6, 7, 8, 9, 10)}
    # 5 March missed: one rest day a week keeps the run going (3..10 is 7 check-in days).
    assert best_streak(days, date(2026, 3, 3), date(2026, 3, 31), 1) == 7
    assert best_streak(days, date(2026, 3, 3), date(2026, 3, 31), 0) == 5


def test_ranks_share_ties_and_skip_zeros():
    assert ranked({5: 3.0, 2: 3.0, 7: 1.0, 9: 0.0}) == [(1, 2, 3.0), (1, 5, 3.0), (3, 7, 1.0)]


def test_uplift_is_a_difference_of_differences_with_a_minimum_baseline():
    three = [(1.0, 2.0)] * 3
    assert not Uplift(group(three), group([])).comparable
    # participants +1 h, the others +0.5 h: an uplift of +0.5 h per creator
    enough = (group(three), group([(2.0, 2.5)] * 3))
    assert Uplift(*enough, enough, 7).difference == pytest.approx(0.5)
    assert Uplift(*enough, enough, 6).difference is None  # too short a baseline
    few = (group(three), group([(2.0, 2.5)] * 2))  # two others with a baseline
    assert Uplift(*enough, few, 14).difference is None
    assert Uplift(*enough, None, 14).difference is None  # taken before baselines were kept
    assert group([(0.0, 2.0)]).change == 2.0


async def test_dates_follow_the_guild_zone(services, program):
    await services.guilds.set_timezone(G, MANAGER, "America/Mexico_City")
    c = await services.campaigns.create(G, MANAGER, spec(start="2026-03-03 18:00"))
    assert c.start_text() == "2026-03-03 18:00" and c.end_text() == "2026-03-16"
    assert c.starts_at == datetime(2026, 3, 4, 0, 0, tzinfo=UTC)  # 18:00 in Mexico City
    assert c.ends_at == datetime(2026, 3, 17, 6, 0, tzinfo=UTC)  # the end of 16 March there
    assert c.ends_at - c.starts_at < timedelta(days=14)


async def test_the_campaign_meant_by_default_is_the_running_one(services, clock, program):
    old = await services.campaigns.create(G, MANAGER, spec(name="Old", end="2026-03-04"))
    await services.campaigns.schedule(G, MANAGER, old.id)
    await services.campaigns.enrol(G, ANA, old.id, "button")
    clock.set(datetime(2026, 3, 6, tzinfo=UTC))
    await services.campaigns.sweep()  # Old is finished (Ana took part)
    new = await services.campaigns.create(G, MANAGER, spec(name="New", start="2026-03-06"))
    await services.campaigns.schedule(G, MANAGER, new.id)
    assert (await services.campaigns.current_for(G, ANA)).name == "New"  # scheduled > finished
    await services.campaigns.sweep()
    assert (await services.campaigns.current_for(G, ANA)).name == "New"  # running


async def test_campaign_news_by_email_to_those_who_want_it(services, clock, program, smtp):
    from tests._email import body, make_sender, verified

    await verified(services, ANA, "ana@example.org", locale="es")
    await verified(services, BEN, "ben@example.org", campaigns=False)  # no campaign news
    await verified(services, CLA, "cla@example.org")
    c = await services.campaigns.create(G, MANAGER, spec(
        description="**Stream** more in March", reward_text="A badge"))
    await services.campaigns.schedule(G, MANAGER, c.id)
    await services.campaigns.enrol(G, ANA, c.id, "button")
    clock.set(datetime(2026, 3, 3, 0, 1, tzinfo=UTC))
    await asyncio.gather(services.campaigns.sweep(), services.campaigns.sweep())
    sender = make_sender(services, smtp)
    await sender.drain()
    assert sorted(m["To"] for m in smtp.messages) == ["ana@example.org", "cla@example.org"]
    [cla] = smtp.to("cla@example.org")
    assert cla["Subject"] == "Campaign “March push” starts now!"
    text = body(cla, "plain")
    assert "Goal (hours live): 10 hours each." in text and "Reward: A badge" in text
    assert "press Enrol under the announcement" in text
    assert "<strong>Stream</strong> more in March" in body(cla, "html")
    [ana] = smtp.to("ana@example.org")
    assert ana["Subject"] == "¡La campaña “March push” empieza ahora!"
    assert "Goal (hours live): 10 hours each.<br>" in body(cla, "html")
    assert "Premio: A badge" in body(ana, "plain")

    await stat(services, ANA, date(2026, 3, 4), 12)
    clock.set(datetime(2026, 3, 17, 12, 0, tzinfo=UTC))  # midway and the rest missed: final
    await services.campaigns.sweep()
    await sender.drain()
    [_, ana_results] = smtp.to("ana@example.org")
    assert "Lo lograste: 12 horas." in body(ana_results, "plain")
    [_, cla_results] = smtp.to("cla@example.org")
    assert "1 of 1 participants reached the goal." in body(cla_results, "plain")
    assert "You did it" not in body(cla_results, "plain")  # Cla never enrolled
    # who was counted, in one line (leaders only on the days they stream)
    assert "leaders and co-leaders on the days they stream" in body(cla_results, "plain")
    keys = [r[0] for r in await services.db.fetchall(
        "SELECT dedupe_key FROM email_outbox ORDER BY id")]
    assert keys == [f"campaign:{c.id}:start:{ANA}", f"campaign:{c.id}:start:{CLA}",
                    f"campaign:{c.id}:results:{ANA}", f"campaign:{c.id}:results:{CLA}"]


async def test_a_family_streak_goal_may_exceed_the_days_but_a_creators_may_not(
        services, program):
    week = {"metric": "streak", "start": "2026-03-03", "end": "2026-03-09"}  # 7 days
    c = await services.campaigns.create(
        G, MANAGER, spec(**week, target_creator=None, target_family=10.0))
    assert (c.days, c.target_family) == (7, 10.0)  # two members with 5-day streaks reach it
    with pytest.raises(UserError) as caught:
        await services.campaigns.create(G, MANAGER, spec(**week, name="Solo",
                                                         target_creator=10.0))
    assert caught.value.code == "campaigns.target_unreachable"
    assert caught.value.params == {"value": 10, "days": 7}


async def finished(services, clock, program, **changes):
    """A week's campaign (hours, 10 each) run to its end: Ana 12 h, Ben 3 h, both enrolled."""
    c = await services.campaigns.create(G, MANAGER, spec(end="2026-03-09", **changes))
    await services.campaigns.schedule(G, MANAGER, c.id)
    for user in (ANA, BEN):
        await services.campaigns.enrol(G, user, c.id, "button")
    clock.set(datetime(2026, 3, 3, 1, 0, tzinfo=UTC))
    await services.campaigns.sweep()
    await stat(services, ANA, date(2026, 3, 4), 12)
    await stat(services, BEN, date(2026, 3, 4), 3)
    clock.set(datetime(2026, 3, 10, 12, 0, tzinfo=UTC))  # the last check-in window closed
    await asyncio.gather(services.campaigns.sweep(), services.campaigns.sweep())
    return c


async def test_the_analysis_goes_to_the_managers_channel_once(services, clock, program,
                                                              templates):
    lobos, osos = program
    await services.guilds.set_channel(G, MANAGER, "managers", 900)
    c = await finished(services, clock, program)
    await services.campaigns.sweep()
    rows = await services.db.fetchall(
        "SELECT family_id, channel_id, state FROM campaign_posts WHERE stage = 'results'"
        " ORDER BY id")
    # The families' posts first, then one copy for the managers (Osos has no channel).
    assert [tuple(r) for r in rows] == [(lobos.id, 500, "pending"), (osos.id, None, "skipped"),
                                        (MANAGERS, 900, "pending")]
    # The family posts go first; the managers' copy reports on them, so it waits.
    queued = await services.campaigns.queue_posts(render)
    assert len(queued[G]) == 2 and await services.campaigns.managers_copy_waiting()
    start, results = await services.deliveries.claim()
    assert (start.target_id, results.target_id) == (500, 500)
    await services.deliveries.failed(results, "missing_permissions")
    report = await services.campaigns.post_report(c.id)  # the managers' copy is not counted
    assert (report.sent, report.failed, report.waiting) == (0, 1, 1)  # the start: claimed
    await services.deliveries.part_sent(start, 0, 7)
    assert report.reasons == {"missing_permissions": 1}
    [key] = (await services.campaigns.queue_posts(render))[G]  # now the managers' copy
    [managers] = await services.deliveries.claim()
    assert key.startswith("campaign-post:") and managers.target_id == 900
    assert managers.payload["content"] == f"results for family {MANAGERS}"
    assert not await services.campaigns.managers_copy_waiting()

    results = await services.campaigns.results(G, c.id)
    text = templates.render("en", "discord/campaigns/results.md.j2", results=results)
    assert "Participation: 2 of 4 creators" in text  # the leaders did not stream
    assert "Announcements in the family channels: 1 posted, 1 failed.\n" in text
    assert "- Familia may not post in that channel: 1" in text
    es = templates.render("es", "discord/campaigns/results.md.j2", results=results)
    assert "Anuncios en los canales de las familias: 1 publicados, 1 fallidos." in es


async def test_no_managers_channel_no_managers_copy(services, clock, program):
    await finished(services, clock, program)
    assert not await services.db.fetchval(
        "SELECT count(*) FROM campaign_posts WHERE family_id = ?", (MANAGERS,))


async def test_the_results_post_names_who_reached_the_goal(services, clock, templates):
    crowd = list(range(100, 125))  # 25 members, all past the goal
    big = await family(services, "Crowd", LEADER, crowd, 500)
    c = await services.campaigns.create(G, MANAGER, spec(end="2026-03-09", enrolment="auto"))
    await services.campaigns.schedule(G, MANAGER, c.id)
    clock.set(datetime(2026, 3, 3, 1, 0, tzinfo=UTC))
    await services.campaigns.sweep()
    for i, user in enumerate(crowd):
        await stat(services, user, date(2026, 3, 4), 10 + i / 2)  # the last one did most
    clock.set(datetime(2026, 3, 10, 12, 0, tzinfo=UTC))
    await services.campaigns.sweep()
    results = await services.campaigns.results(G, c.id)
    shown, more = results.reached_in(big.id)
    assert shown == crowd[::-1][:20] and more == 5  # best first, then "and 5 more"

    def post(locale):
        return templates.render(locale, "discord/campaigns/announcement.md.j2", campaign=c,
                                stage="results", family=None, results=results,
                                family_id=big.id, late=False)

    text = post("en")
    names = ", ".join(f"<@{u}>" for u in crowd[::-1][:20])
    assert f"Reached the goal: {names} and 5 more." in text
    assert "<@100>" not in text and len(text) <= 2000
    assert f"Alcanzaron la meta: {names} y 5 personas más." in post("es")


async def test_with_only_a_family_goal_nobody_is_named(services, clock, program, templates):
    lobos, _ = program
    c = await finished(services, clock, program, target_creator=None, target_family=5.0)
    results = await services.campaigns.results(G, c.id)
    assert results.reached == 2 and results.reached_in(lobos.id) == ([], 0)
    text = templates.render("en", "discord/campaigns/announcement.md.j2", campaign=c,
                            stage="results", family=None, results=results,
                            family_id=lobos.id, late=False)
    assert "Reached the goal:" not in text and "<@" not in text


async def test_a_draft_can_change_everything(services, program):
    _, osos = program
    c = await services.campaigns.create(
        G, MANAGER, spec(target_family=20.0, reward_role_id=77))
    async def edit(guild_id, name, changes, clear=()):  # the campaign as the option reads it
        found = await services.campaigns.resolve(guild_id, name)
        return await services.campaigns.prepare_edit(found, changes, clear)

    prepared = await edit(G, "march push", {
        "metric": "days", "target_creator": 5.0, "audience": "families",
        "audience_ids": [osos.id], "enrolment": "auto", "reminders": ("lastday",)},
        ("target_family", "reward_role_id"))
    found, new = prepared.campaign, prepared.spec
    assert found.id == c.id
    assert (new.metric, new.target_creator, new.target_family, new.reward_role_id) == (
        "days", 5.0, None, None)
    assert (new.audience, new.audience_ids, new.enrolment, new.reminders) == (
        "families", [osos.id], "auto", ("lastday",))
    updated = await services.campaigns.update(G, MANAGER, c.id, new)
    assert (updated.metric, updated.audience_ids, updated.target_family,
            updated.reward_role_id, updated.reminders) == ("days", [osos.id], None, None,
                                                           ("lastday",))
    # The same kind of audience keeps its families; every family needs none.
    same = (await edit(G, "March push", {"audience": "families"})).spec
    assert same.audience_ids == [osos.id]
    everyone = (await edit(G, "March push", {"audience": "all"})).spec
    assert (everyone.audience, everyone.audience_ids) == ("all", [])

    for changes, clear, code in [
        ({"audience": "tiers"}, (), "campaigns.ids_needed"),  # families' ids are no tiers
        ({}, ("target_creator",), "campaigns.target_needed"),  # no goal left
        ({"target_family": 9.0}, ("target_family",), "campaigns.set_and_clear"),
        ({"metric": "streak", "target_creator": 30.0}, (), "campaigns.target_unreachable"),
    ]:
        with pytest.raises(UserError) as caught:
            await edit(G, "March push", changes, clear)
        assert caught.value.code == code
    assert (await services.campaigns.get(G, c.id)).metric == "days"  # nothing stored


async def test_a_running_campaign_refuses_new_rules_before_the_form(services, clock, program):
    c = await services.campaigns.create(G, MANAGER, spec(reward_role_id=77,
                                                         target_family=30.0))
    await services.campaigns.schedule(G, MANAGER, c.id)
    clock.set(datetime(2026, 3, 4, 9, 0, tzinfo=UTC))
    await services.campaigns.sweep()
    async def edit(guild_id, name, changes, clear=()):  # the campaign as the option reads it
        found = await services.campaigns.resolve(guild_id, name)
        return await services.campaigns.prepare_edit(found, changes, clear)

    for changes, clear in [({"metric": "diamonds"}, ()), ({"enrolment": "auto"}, ()),
                           ({"reminders": ()}, ()), ({}, ("target_family",))]:
        with pytest.raises(UserError) as caught:
            await edit(G, "March push", changes, clear)
        assert caught.value.code == "campaigns.locked_while_running"
    spec_now = (await edit(G, "March push", {"end": local("2026-03-20")}, ("reward_role_id",))).spec
    edited = await services.campaigns.update(G, MANAGER, c.id, spec_now)
    assert (edited.reward_role_id, edited.last_day) == (None, date(2026, 3, 20))


async def test_the_campaign_list_comes_a_page_at_a_time(services, program):
    for i in range(23):
        await services.campaigns.create(G, MANAGER, spec(name=f"Push {i:02d}"))
    states = ("draft", "scheduled", "running", "finished")
    first = await services.campaigns.campaigns_page(G, states, 0)
    assert (first.total, first.pages, len(first.items)) == (23, 3, 10)
    last = await services.campaigns.campaigns_page(G, states, 99)  # past the end: the last
    assert last.number == 2 and len(last.items) == 3
    seen = {c.id for p in (0, 1, 2)
            for c in (await services.campaigns.campaigns_page(G, states, p)).items}
    assert len(seen) == 23
    assert (await services.campaigns.campaigns_page(G, ("running",), 0)).total == 0


async def test_a_reminder_keeps_each_goal_and_the_late_note_on_its_own_line(
        services, program, templates):
    """Both goals, and the "posted late" note after the call to action, each on a line of its
    own (they ran together: "10 hours each.👪 Family goal…", "any time.-# Posted late…")."""
    c = await services.campaigns.create(G, MANAGER, spec(target_family=20.0))
    for locale in ("en", "es"):
        text = templates.render(locale, "discord/campaigns/announcement.md.j2", campaign=c,
                                stage="midway", family=None, results=None, family_id=None,
                                late=True)
        lines = text.splitlines()
        assert any(line.startswith("🎯 ") for line in lines), text
        assert any(line.startswith("👪 ") for line in lines), text
        assert any(line.startswith("-# ") for line in lines), text
