-- Campaign announcements and reward roles go through the one Discord delivery queue (0010).
--
-- campaign_posts stays the campaign's record of its stages: the sweep writes a row per family
-- channel ('pending', or 'skipped' with why) in the transaction of the stage; the campaigns
-- cog then renders it and hands it to the queue, marking it 'claimed' in the transaction
-- that queues the delivery 'campaign-post:<id>' (that row says whether Discord took it).
-- 'sent' remains only on rows finished before this upgrade, 'failed' on those and on a post
-- that could not be rendered.
--
-- A post the old poster left claimed may be on Discord already: it becomes pending again with
-- its claimed_at kept, and is handed over as a delivery to read back first: queued 'sending'
-- with its lease run out, claimed_at the old claim, and the payload's "nonces" the ones the
-- old poster used ('cp<id>p<part>', the last part 'cp<id>').
UPDATE campaign_posts SET state = 'pending' WHERE state = 'claimed';

-- What a role change found: 'done' (changed) or 'already' (the member already had the role,
-- or no longer had it): a campaign's "already had it" apart from "given".
ALTER TABLE deliveries ADD COLUMN outcome TEXT;

-- Reward roles not given yet become role additions in the queue (nobody loses a role);
-- campaign_results keeps 'pending' on them, and the delivery 'campaign-reward:<campaign>:<user>'
-- says how it went.
INSERT INTO deliveries (guild_id, kind, source, target, target_id, role_id, payload,
                        dedupe_key, next_attempt_at, created_at)
SELECT r.guild_id, 'campaign_reward', 'campaign-reward:' || r.campaign_id, 'role_add',
       r.user_id, c.reward_role_id, json_object('reason', 'Familia: campaign reward'),
       'campaign-reward:' || r.campaign_id || ':' || r.user_id,
       coalesce(c.finished_at, c.ends_at), coalesce(c.finished_at, c.ends_at)
FROM campaign_results r JOIN campaigns c ON c.id = r.campaign_id
WHERE r.reward_state = 'pending' AND c.reward_role_id IS NOT NULL
ON CONFLICT (guild_id, dedupe_key) DO NOTHING;
