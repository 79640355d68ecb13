-- The language of a member's Discord app, remembered when they use Familia, so messages they
-- did not ask for (DMs, emails) are in their language even if they never chose one with /me.
ALTER TABLE members ADD COLUMN discord_locale TEXT CHECK (discord_locale IN ('en', 'es'));
