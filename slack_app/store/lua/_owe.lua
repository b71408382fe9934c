-- Included by scripts that commit a state change: records, in the same step, the effects the change
-- owes (messages to bring up to date, notices to post) in the ask's `owed` hash, and wakes the
-- effect queue when that hash was empty. Expects local `ask` (its key); KEYS[5] is the owed hash,
-- KEYS[6] the effect stream shard (absent on a Redis Cluster, where the stream lives in another
-- slot: the script then answers wake = true and the store adds the stream entry itself, having added the
-- change's intent before the script, see store.py).
-- Each change takes a new `effect_seq`, so an effect marked again while it runs stays owed.
local owed, wake_stream = KEYS[5], KEYS[6]
local owed_was_empty = redis.call('EXISTS', owed) == 0
local effect_seq = nil
local function seq()
  effect_seq = effect_seq or tostring(redis.call('HINCRBY', ask, 'effect_seq', 1))
  return effect_seq
end
-- A flag widens what a redraw covers (' moved': every offer DM showing the ask's status; ' late': a card
-- answered once covered). Owed again before it was carried out, the redraw keeps the flag: a later change
-- (a pass after a reopening, while Slack failed) must not narrow it to fewer messages than were owed.
local flags = {' moved', ' late'}
local function owe(field, value)
  value = value or seq()
  local before = redis.call('HGET', owed, field)
  for _, flag in ipairs(flags) do
    if before and string.sub(before, -#flag) == flag and string.sub(value, -#flag) ~= flag then
      value = value .. flag
    end
  end
  redis.call('HSET', owed, field, value)
end
local function owe_post(kind, payload)
  payload.kind = kind
  redis.call('HSET', owed, 'post:' .. seq() .. ':' .. kind .. ':' .. (payload.helper or ''), cjson.encode(payload))
end
-- True when the caller must add the stream entry (Cluster); the entry is added here otherwise.
local function wake()
  if not owed_was_empty or redis.call('EXISTS', owed) == 0 then return false end
  if wake_stream then
    redis.call('XADD', wake_stream, '*', 'team', redis.call('HGET', ask, 'team_id'), 'ask', redis.call('HGET', ask, 'id'))
    return false
  end
  return true
end
