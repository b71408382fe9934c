-- Marks a reaction event seen and finds the card it reacts to, in one step: Slack retries an event it
-- thinks we missed, and only its first delivery may answer the card.
-- KEYS: the event's seen marker, the card index entry (both in the workspace's slot). ARGV: seconds to remember the event.
local first = redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1])
return {first and 1 or 0, redis.call('GET', KEYS[2])}
