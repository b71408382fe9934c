-- Ends a live ask: the asker cancels; the asker or a helper marks it done; the scheduler expires
-- one that nobody took, or closes quietly one taken but never marked done, long after its check-ins. KEYS: ask, answers, cards, offers, owed effects, [effect stream]. ARGV: ending, user, now.
local ask, answers, cards, offers = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local ending, user, now = ARGV[1], ARGV[2], ARGV[3]
local status = redis.call('HGET', ask, 'status')
if not status then return cjson.encode({outcome = 'missing'}) end
--! include _snapshot
--! include _owe
--! include _tell
if status ~= 'open' and status ~= 'taken' then return told('unchanged', user) end
local helpers = cjson.decode(redis.call('HGET', ask, 'helpers'))
local is_helper = false
for _, helper in ipairs(helpers) do if helper == user then is_helper = true end end
local is_asker = redis.call('HGET', ask, 'asker') == user
if ending == 'cancelled' and not is_asker then return told('not_asker', user) end
if ending == 'done' and not (is_asker or is_helper) then return told('not_allowed', user) end
if ending == 'done' and #helpers == 0 then return told('not_allowed', user) end
if ending == 'expired' and status ~= 'open' then return told('unchanged', user) end
if ending == 'closed_quietly' and status ~= 'taken' then return told('unchanged', user) end
redis.call('HSET', ask, 'status', ending, 'closed_at', now)
if ending == 'done' then redis.call('HSET', ask, 'done_at', now, 'done_by', user) end
if ending == 'done' and status == 'open' then
  -- Done before it was fully taken: a done redraws only its helpers' cards (the others show it covered),
  -- but here the others still offer it, so every card is drawn ended.
  for _, teammate in ipairs(cjson.decode(redis.call('HGET', ask, 'teammates'))) do owe('card:' .. teammate) end
end
return told(ending, user)
