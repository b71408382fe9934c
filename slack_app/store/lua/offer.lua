-- Records a teammate's offer (later, smaller, or a suggestion) for the asker to answer. One waits
-- at a time per teammate; a suggestion also counts as their pass. An offer on an ask already covered
-- or ended changes nothing and gets the same answer as a late accept.
-- KEYS: ask, answers, cards, offers, owed effects, [effect stream]. ARGV: user, offer (JSON), now (epoch seconds).
local ask, answers, cards, offers = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local user = ARGV[1]
local status = redis.call('HGET', ask, 'status')
if not status then return cjson.encode({outcome = 'missing'}) end
--! include _snapshot
--! include _owe
--! include _tell
if not is_teammate(user) then return told('not_teammate', user) end
if status ~= 'open' and status ~= 'taken' then return told('closed', user) end
if redis.call('HGET', answers, user) == 'accepted' then return told('unchanged', user) end
if status == 'taken' then return told('already_covered', user) end
local earlier = redis.call('HGET', offers, user)
if earlier then
  local state = cjson.decode(earlier).state
  if state == 'waiting' or state == 'declined' then return told('unchanged', user) end
end

local offer = cjson.decode(ARGV[2])
offer.state = 'waiting'
offer.made_at = tonumber(ARGV[3])
redis.call('HSET', offers, user, cjson.encode(offer))
redis.call('HDEL', offers, user .. ' notice')
if offer.kind == 'suggest' then
  redis.call('HSET', answers, user, 'declined')
else
  redis.call('HDEL', answers, user)  -- "later" or "a smaller yes" is no longer a pass
end
return told('offered', user)
