-- An erasure reaching a thank-you not yet delivered: each one owed in an ask's effects carries the
-- placeholder instead of the note, so what is sent is what is kept. KEYS: the ask's owed effects.
-- ARGV: the placeholder. Returns how many it changed.
local changed = 0
local fields = redis.call('HGETALL', KEYS[1])
for index = 1, #fields, 2 do
  local field, raw = fields[index], fields[index + 1]
  if string.find(field, '^post:') then
    local payload = cjson.decode(raw)
    if payload.kind == 'thanks' and payload.note ~= ARGV[1] then
      payload.note = ARGV[1]
      redis.call('HSET', KEYS[1], field, cjson.encode(payload))
      changed = changed + 1
    end
  end
end
return changed
