-- Included by scripts that answer with the ask as it now stands, so a caller can update every
-- message without another round trip. Expects locals ask, answers and cards (their keys).
local function as_map(flat)
  local map = {}
  for i = 1, #flat, 2 do map[flat[i]] = flat[i + 1] end
  return map
end
local function snapshot(outcome)
  return cjson.encode({
    outcome = outcome,
    ask = as_map(redis.call('HGETALL', ask)),
    answers = as_map(redis.call('HGETALL', answers)),
    cards = as_map(redis.call('HGETALL', cards)),
  })
end
