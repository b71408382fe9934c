-- Puts an effect queue entry back for later (a failure to retry after its backoff, a rate-budget turn
-- not yet due, an ask another process holds), or into the dead letters once its tries are spent: the
-- entry leaves the stream and waits in the shard's sorted set of later work (or its dead-letter stream),
-- in one step, so it is never in neither. Nothing happens if the entry was already acknowledged (whoever
-- took it over finished it). All keys in the shard's slot.
-- KEYS: the stream, the later set, the dead letters. ARGV: group, entry id, 'later' or 'dead', due time
-- (later), then field, value pairs for the entry as it is to come back (team, ask, tries, born...).
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('XDEL', KEYS[1], ARGV[2])
local fields = {}
for i = 5, #ARGV do fields[#fields + 1] = ARGV[i] end
if ARGV[3] == 'dead' then
  redis.call('XADD', KEYS[3], '*', unpack(fields))
else
  local entry = {}
  for i = 1, #fields, 2 do entry[fields[i]] = fields[i + 1] end
  redis.call('ZADD', KEYS[2], ARGV[4], cjson.encode(entry))
end
return 1
