-- Records effects owed outside an answer: an ask to send, a thank-you to deliver, a check-in or a
-- reminder to post. A post already owed under the same id is not owed again, so a timer that runs
-- twice owes its notice once. KEYS: ask, answers, cards, offers, owed effects, [effect stream] (as answer.lua).
-- ARGV: JSON {posts = {id = payload}, owe = {field = value}, count = a field of the ask to increment,
-- whose new value replaces '#' in post ids, stamp = {field = value} set on the ask in the same step}.
local ask = KEYS[1]
if redis.call('EXISTS', ask) == 0 then return cjson.encode({wake = false, count = 0}) end
--! include _owe
local wanted = cjson.decode(ARGV[1])
local count = 0
if wanted.count and wanted.count ~= '' then count = redis.call('HINCRBY', ask, wanted.count, 1) end
for field, value in pairs(wanted.owe or {}) do owe(field, value) end
for field, value in pairs(wanted.stamp or {}) do redis.call('HSET', ask, field, value) end
for id, payload in pairs(wanted.posts or {}) do
  local field = 'post:' .. (string.gsub(id, '#', tostring(count)))
  redis.call('HSETNX', owed, field, cjson.encode(payload))
end
return cjson.encode({wake = wake(), count = count})
