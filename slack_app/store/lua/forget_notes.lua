-- Drops a week's thank-you notes and every copy and trace of them: the helpers' Home tab copies, found
-- by ask and helper (an erasure may have rewritten either copy, so never by exact string), the week in
-- each person's index, where their thank-you DMs went, and where the week's digest went.
-- KEYS: the week's notes, the digest posts, then the helpers' thanks lists (ARGV[2] of them), then each
-- person's index of weeks (ARGV[3] of them), then each person's thank-you DM locations (as many).
-- ARGV: the week, how many helpers, how many people. Returns how many notes there were.
local week, helpers, people = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local dropped = {}
local records = redis.call('LRANGE', KEYS[1], 0, -1)
for _, raw in ipairs(records) do
  local record = cjson.decode(raw)
  dropped[tostring(record.ask_id) .. ' ' .. tostring(record.helper)] = true
end
for index = 3, 2 + helpers do
  for _, raw in ipairs(redis.call('LRANGE', KEYS[index], 0, -1)) do
    local record = cjson.decode(raw)
    if dropped[tostring(record.ask_id) .. ' ' .. tostring(record.helper)] then redis.call('LREM', KEYS[index], 0, raw) end
  end
end
for index = 3 + helpers, 2 + helpers + people do redis.call('SREM', KEYS[index], week) end
for index = 3 + helpers + people, 2 + helpers + 2 * people do
  for location, _ in pairs(dropped) do redis.call('HDEL', KEYS[index], location) end
end
redis.call('HDEL', KEYS[2], week)
redis.call('DEL', KEYS[1])
return #records
