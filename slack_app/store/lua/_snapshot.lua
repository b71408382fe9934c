-- Included by scripts that answer with the ask as it now stands, so a caller can update every
-- message without another round trip. Expects locals ask, answers, cards and offers (their keys).
local function as_map(flat)
  local map = {}
  for i = 1, #flat, 2 do map[flat[i]] = flat[i + 1] end
  return map
end
local function snapshot(outcome, extra)
  local result = extra or {}
  result.outcome = outcome
  result.ask = as_map(redis.call('HGETALL', ask))
  result.answers = as_map(redis.call('HGETALL', answers))
  result.cards = as_map(redis.call('HGETALL', cards))
  result.offers = as_map(redis.call('HGETALL', offers))
  return cjson.encode(result)
end
