-- Leases every due job and every job whose lease lapsed (its worker died), up to a limit, in one
-- step: two workers polling at once can never both hold a live lease on the same job. Answers the
-- claimed records and when this workspace next needs a look (its earliest due time or lease
-- lapse; '' when it has no jobs), for the due index.
local due, leases, data = KEYS[1], KEYS[2], KEYS[3]
local now, lease_until, limit = ARGV[1], ARGV[2], tonumber(ARGV[3])
local ids = redis.call('ZRANGEBYSCORE', leases, '-inf', now, 'LIMIT', 0, limit)
if #ids < limit then
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', due, '-inf', now, 'LIMIT', 0, limit - #ids)) do
    redis.call('ZREM', due, id)
    table.insert(ids, id)
  end
end
local claimed = {}
for _, id in ipairs(ids) do
  local record = redis.call('HGET', data, id)
  if record then
    redis.call('ZADD', leases, lease_until, id)
    table.insert(claimed, record)
  else
    -- Its record is gone (an evicted key): nothing to run, and nothing to reclaim forever.
    redis.call('ZREM', leases, id)
  end
end
local next = ''
for _, set in ipairs({due, leases}) do
  local first = redis.call('ZRANGE', set, 0, 0, 'WITHSCORES')
  if first[2] and (next == '' or tonumber(first[2]) < tonumber(next)) then next = first[2] end
end
return {claimed, next}
