-- Slack refused a week's digest for now (a 5xx, an incident): the claim made for it, if still the one this
-- poster made (its lease_until, to the microsecond), ends sooner, so the next poll tries again soon.
-- KEYS: the week's digest marker. ARGV: the claim's lease until, the earlier moment it now ends.
if redis.call('HGET', KEYS[1], 'state') ~= 'claimed' then return 0 end
if redis.call('HGET', KEYS[1], 'lease_until') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'lease_until', ARGV[2])
return 1
