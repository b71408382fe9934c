-- A workspace's people directory: one hash, user id → what Slack shows every member about them (JSON
-- with `updated`, when Slack last changed them), and beside it, while a full refresh from users.list is
-- under way, the directory being built, which replaces it in one step when complete. A record replaces
-- the one kept only if it is as new or newer, so an event arriving late, or a page fetched before a
-- change, never undoes the change; a record that doesn't carry the person's language keeps the one known.
-- One refresh at a time, under a lease its holder renews with every page.
-- KEYS: the directory, the one being built, its state (hash: filled_at, holder, lease_until); all in the
-- workspace's slot. ARGV: op, now (epoch ms), then per op:
--   add    records…                       an event's or users.info's people, into both directories
--   claim  holder, lease_ms               → 1 if the refresh is now the holder's (a lapsed one's build dropped)
--   page   holder, lease_ms, records…     → 1 if still the holder's: the page added to the build, lease renewed
--   finish holder, filled_at              → 1 if still the holder's: the build becomes the directory
local live, building, state = KEYS[1], KEYS[2], KEYS[3]
local op, now = ARGV[1], tonumber(ARGV[2])

local function upsert(key, record)
  local kept = redis.call('HGET', key, record.id)
  if kept then
    local old = cjson.decode(kept)
    if (tonumber(old.updated) or 0) > (tonumber(record.updated) or 0) then return end
    if record.locale == nil then record.locale = old.locale end
  end
  redis.call('HSET', key, record.id, cjson.encode(record))
end

local function holds(holder)
  local current = redis.call('HMGET', state, 'holder', 'lease_until')
  return current[1] == holder and tonumber(current[2] or 0) >= now
end

if op == 'add' then
  local also_building = redis.call('EXISTS', building) == 1
  for i = 3, #ARGV do
    local record = cjson.decode(ARGV[i])
    upsert(live, record)
    if also_building then upsert(building, cjson.decode(ARGV[i])) end
  end
  return 1
elseif op == 'claim' then
  local current = redis.call('HMGET', state, 'holder', 'lease_until')
  if current[1] and tonumber(current[2] or 0) >= now then return 0 end
  redis.call('DEL', building)
  redis.call('HSET', state, 'holder', ARGV[3], 'lease_until', now + tonumber(ARGV[4]))
  return 1
elseif op == 'page' then
  if not holds(ARGV[3]) then return 0 end
  redis.call('HSET', state, 'lease_until', now + tonumber(ARGV[4]))
  for i = 5, #ARGV do upsert(building, cjson.decode(ARGV[i])) end
  return 1
elseif op == 'finish' then
  if not holds(ARGV[3]) then return 0 end
  if redis.call('EXISTS', building) == 1 then
    redis.call('RENAME', building, live)
  else
    redis.call('DEL', live)  -- users.list listed nobody
  end
  redis.call('HDEL', state, 'holder', 'lease_until')
  redis.call('HSET', state, 'filled_at', ARGV[4])
  return 1
end
return redis.error_reply('unknown op ' .. tostring(op))
