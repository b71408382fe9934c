-- Erases one author's words from a list of thank-you records (JSON): their note, and their ask's
-- line that the record quotes. In place and atomic, so a note filed meanwhile never shifts an index.
-- KEYS: the list. ARGV: the author's user id, the placeholder. Returns how many records changed.
local changed = 0
for index, raw in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do
  local record = cjson.decode(raw)
  if record.asker == ARGV[1] and (record.note ~= ARGV[2] or record.ask ~= ARGV[2]) then
    record.note, record.ask = ARGV[2], ARGV[2]
    redis.call('LSET', KEYS[1], index - 1, cjson.encode(record))
    changed = changed + 1
  end
end
return changed
