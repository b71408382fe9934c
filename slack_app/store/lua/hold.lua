-- Takes a unit of work's lease for one holder, or renews the holder's own. A new holder gets it only
-- when nobody holds it or the last lease lapsed; a renewal succeeds only while the lease still names
-- this holder, so a holder that lost it (frozen past its lease, then taken over) never gets it back, and
-- never shortens it (a step may have stretched it: leases.py). Time is data: the lease is an absolute
-- moment in the hash, never a key TTL.
-- KEYS: the lease (a hash). ARGV: token, renewing ('1' or '0'), now, until.
local held = redis.call('HMGET', KEYS[1], 'token', 'until')
local mine = held[1] == ARGV[1]
if ARGV[2] == '1' then
  if not mine then return 0 end
elseif held[1] and not mine and tonumber(held[2]) > tonumber(ARGV[3]) then
  return 0
end
local till = ARGV[4]
if mine and tonumber(held[2]) > tonumber(till) then till = held[2] end
redis.call('HSET', KEYS[1], 'token', ARGV[1], 'until', till)
return 1
