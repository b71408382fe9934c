-- Moves the end of a week's digest claim, if it is still the one this poster holds (its lease_until, to the
-- microsecond): later, to keep it while its post is made; sooner, when Slack refused the post for now (a
-- 5xx, an incident), so the next poll tries again soon. 0 when the claim is no longer this poster's.
-- KEYS: the week's digest marker. ARGV: the claim's lease until, the moment it now ends.
if redis.call('HGET', KEYS[1], 'state') ~= 'claimed' then return 0 end
if redis.call('HGET', KEYS[1], 'lease_until') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'lease_until', ARGV[2])
return 1
