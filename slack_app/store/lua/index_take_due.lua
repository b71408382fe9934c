-- Takes up to a limit of the workspaces whose entry is due, holding each a little while so that
-- other pollers move on to others; answers each with its change count, for the compare-and-set.
-- KEYS: next, changes. ARGV: now, limit, hold until.
local taken = {}
for _, team in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))) do
  redis.call('ZADD', KEYS[1], ARGV[3], team)
  table.insert(taken, team)
  table.insert(taken, redis.call('HGET', KEYS[2], team) or '0')
end
return taken
