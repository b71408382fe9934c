-- The asker answers one teammate's offer, atomically with every other answer to the ask: accepting
-- a later or smaller yes takes a helper slot exactly as an accept does (so it can lose the last slot
-- to a teammate's take-it at the same instant), and accepting a suggestion adds that person to the
-- ask, within the cap, once. An offer whose ask is covered or ended lapses.
-- KEYS: ask, answers, cards, offers, owed effects, [effect stream].
-- ARGV: user (who answers), verb (accept | decline), helper, now, refusal (why a suggestion can't
-- be asked, or ""), the most teammates an ask may have, and the refusals for a suggested person
-- already asked and for an ask already at that most, and the suggested person's language code.
local ask, answers, cards, offers = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local user, verb, helper, now, refusal = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local status = redis.call('HGET', ask, 'status')
if not status then return cjson.encode({outcome = 'missing'}) end
--! include _snapshot
--! include _owe
--! include _tell
if redis.call('HGET', ask, 'asker') ~= user then return told('not_asker', helper) end
local raw = redis.call('HGET', offers, helper)
if not raw then return told('unchanged', helper) end
local offer = cjson.decode(raw)
if offer.state ~= 'waiting' then return told('unchanged', helper) end

local function settle(state, outcome, extra)
  offer.state = state
  redis.call('HSET', offers, helper, cjson.encode(offer))
  return told(outcome, helper, extra)
end

if verb == 'decline' then return settle('declined', 'offer_declined') end
if status ~= 'open' then return settle('lapsed', 'offer_lapsed') end

local teammates = cjson.decode(redis.call('HGET', ask, 'teammates'))
if offer.kind == 'suggest' then
  if refusal ~= '' then
    offer.refusal = refusal
    return settle('refused', 'suggestion_refused')
  end
  for _, teammate in ipairs(teammates) do
    if teammate == offer.suggested then
      offer.refusal = ARGV[7]
      return settle('refused', 'suggestion_refused')
    end
  end
  if #teammates >= tonumber(ARGV[6]) then
    offer.refusal = ARGV[8]
    return settle('refused', 'suggestion_refused')
  end
  table.insert(teammates, offer.suggested)
  redis.call('HSET', ask, 'teammates', cjson.encode(teammates))
  if ARGV[9] ~= '' then  -- their language, so their card and everything after reads in it
    local languages = cjson.decode(redis.call('HGET', ask, 'languages') or '{}')
    languages[offer.suggested] = ARGV[9]
    redis.call('HSET', ask, 'languages', cjson.encode(languages))
  end
  return settle('accepted', 'suggestion_sent')
end

-- A later or smaller yes: the helper takes a slot, as with an accept.
local helpers = cjson.decode(redis.call('HGET', ask, 'helpers'))
table.insert(helpers, helper)
redis.call('HSET', answers, helper, 'accepted')
if offer.kind == 'later' then redis.call('HSET', ask, 'needed_by', offer.by) end
local outcome = 'offer_took'
if #helpers >= tonumber(redis.call('HGET', ask, 'helpers_needed')) then
  redis.call('HSET', ask, 'status', 'taken', 'taken_at', now)
  outcome = 'offer_took_last'
end
redis.call('HSET', ask, 'helpers', cjson.encode(helpers))
local first_yes = redis.call('HSETNX', ask, 'first_yes_at', now) == 1  -- as an accept counts it
return settle('accepted', outcome, {first_yes = first_yes})
