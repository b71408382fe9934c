-- Forgets a job once its handler succeeded, unless it was cancelled or scheduled anew since the
-- claim. Every scheduling mints a new token, so a matching token means this very claim's job,
-- still leased; any other means the new schedule must stand.
local leases, data = KEYS[1], KEYS[2]
local id, token = ARGV[1], ARGV[2]
local record = redis.call('HGET', data, id)
if not record or cjson.decode(record).token ~= token then return 0 end
redis.call('ZREM', leases, id)
redis.call('HDEL', data, id)
return 1
