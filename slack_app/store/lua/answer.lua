-- Records one teammate's answer and moves the ask between open and taken, atomically, so that
-- exactly one of several simultaneous accepts takes the last helper slot.
-- Taking it outright or passing withdraws the answerer's waiting later/smaller offer.
-- KEYS: ask, answers, cards, offers, owed effects, [effect stream]. ARGV: user, verb, now (epoch seconds).
local ask, answers, cards, offers = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local user, verb = ARGV[1], ARGV[2]  -- ARGV[3]: now, epoch seconds
local status = redis.call('HGET', ask, 'status')
if not status then return cjson.encode({outcome = 'missing'}) end
--! include _snapshot
--! include _owe
--! include _tell
local current = redis.call('HGET', answers, user)
local helpers = cjson.decode(redis.call('HGET', ask, 'helpers'))
local teammates = cjson.decode(redis.call('HGET', ask, 'teammates'))
local live = status == 'open' or status == 'taken'
local outcome = 'unchanged'
local first_yes = false  -- the ask's first yes ever: counted once, however often helpers step back

if not is_teammate(user) then return told('not_teammate', user) end

local function withdraw_offer()
  local raw = redis.call('HGET', offers, user)
  if not raw then return end
  local offer = cjson.decode(raw)
  if offer.state == 'waiting' and offer.kind ~= 'suggest' then
    offer.state = 'withdrawn'
    redis.call('HSET', offers, user, cjson.encode(offer))
  end
end

local function without(list, item)
  local kept = {}
  for _, value in ipairs(list) do if value ~= item then table.insert(kept, value) end end
  return kept
end

if verb == 'accept' then
  if current == 'accepted' then outcome = 'unchanged'
  elseif status ~= 'open' then outcome = live and 'already_covered' or 'closed'
  else
    redis.call('HSET', answers, user, 'accepted')
    table.insert(helpers, user)
    withdraw_offer()
    outcome = 'took'
    first_yes = redis.call('HSETNX', ask, 'first_yes_at', ARGV[3]) == 1
    if #helpers >= tonumber(redis.call('HGET', ask, 'helpers_needed')) then
      status = 'taken'
      outcome = 'took_last'
      redis.call('HSET', ask, 'taken_at', ARGV[3])
    end
  end
elseif verb == 'decline' then
  if current == 'declined' or current == 'accepted' then outcome = 'unchanged'
  elseif not live then outcome = 'closed'
  else
    redis.call('HSET', answers, user, 'declined')
    withdraw_offer()
    outcome = 'declined'
    local declined = 0
    for _, value in ipairs(redis.call('HVALS', answers)) do
      if value == 'declined' then declined = declined + 1 end
    end
    if status == 'open' and declined == #teammates
       and redis.call('HSETNX', ask, 'all_declined_told', '1') == 1 then
      outcome = 'all_declined'
    end
  end
elseif verb == 'withdraw_accept' then
  if current ~= 'accepted' then outcome = 'unchanged'
  elseif not live then outcome = 'closed'
  else
    redis.call('HDEL', answers, user)
    helpers = without(helpers, user)
    outcome = status == 'taken' and 'reopened' or 'withdrew'
    if outcome == 'reopened' then
      redis.call('HSET', ask, 'reopened_at', ARGV[3])
      -- Whoever takes it next is checked in with afresh, on their own timing.
      redis.call('HDEL', ask, 'check_ins_sent', 'check_in_snoozed', 'checked_in_at')
    end
    status = 'open'
  end
elseif verb == 'withdraw_decline' then
  if current ~= 'declined' then outcome = 'unchanged'
  elseif not live then outcome = 'closed'
  else
    redis.call('HDEL', answers, user)
    outcome = 'undeclined'
  end
end

redis.call('HSET', ask, 'status', status, 'helpers', cjson.encode(helpers))
return told(outcome, user, {first_yes = first_yes})
