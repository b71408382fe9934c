-- Claims a week's digest for one poster, or reclaims it if that poster died before sending
-- (its lease ran out); once sent, the marker stays and nobody posts that week again.
-- KEYS: the week's digest marker. ARGV: now, lease until.
local state = redis.call('HGET', KEYS[1], 'state')
if state == 'sent' then return 0 end
if state == 'claimed' and tonumber(redis.call('HGET', KEYS[1], 'lease_until')) > tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'state', 'claimed', 'lease_until', ARGV[2])
return 1
