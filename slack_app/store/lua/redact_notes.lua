-- Erases one author's words from lists of thank-you records (JSON): their note, and their ask's line
-- that the record quotes. In place and atomic, so a note filed meanwhile never shifts an index.
-- KEYS: the lists (all in the workspace's slot). ARGV: the author's user id, the placeholder.
-- Returns how many records changed in each list, in KEYS' order.
local changed = {}
for _, list in ipairs(KEYS) do
  local count = 0
  for index, raw in ipairs(redis.call('LRANGE', list, 0, -1)) do
    local record = cjson.decode(raw)
    if record.asker == ARGV[1] and (record.note ~= ARGV[2] or record.ask ~= ARGV[2]) then
      record.note, record.ask = ARGV[2], ARGV[2]
      redis.call('LSET', list, index - 1, cjson.encode(record))
      count = count + 1
    end
  end
  table.insert(changed, count)
end
return changed
