-- Claims a week's digest for one poster, or reclaims it if that poster died before sending
-- (its lease ran out); once sent, the marker stays (until its expiry, well after the week) and
-- nobody posts that week again.
-- KEYS: the week's digest marker. ARGV: now, lease until, the marker's lifetime in seconds.
local state = redis.call('HGET', KEYS[1], 'state')
if state == 'sent' then return 0 end
if state == 'claimed' and tonumber(redis.call('HGET', KEYS[1], 'lease_until')) > tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'state', 'claimed', 'lease_until', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
