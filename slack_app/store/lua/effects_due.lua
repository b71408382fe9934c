-- Moves the shard's later work whose time has come back into its stream, as new entries.
-- KEYS: the stream, the later set. ARGV: now, how many at most.
local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, member in ipairs(due) do
  local entry, fields = cjson.decode(member), {}
  for name, value in pairs(entry) do
    fields[#fields + 1] = name
    fields[#fields + 1] = tostring(value)
  end
  redis.call('XADD', KEYS[1], '*', unpack(fields))
  redis.call('ZREM', KEYS[2], member)
end
return #due
