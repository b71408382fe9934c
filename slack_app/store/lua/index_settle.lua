-- Sets each looked-at workspace's entry to its next moment (or removes it: nothing left), unless
-- its change count moved since it was taken: then work was added meanwhile and the lowered entry
-- must stand. KEYS: next, changes. ARGV: workspace, count seen, next moment or '' (repeated).
for i = 1, #ARGV, 3 do
  local team, seen, at = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  if (redis.call('HGET', KEYS[2], team) or '0') == seen then
    if at == '' then redis.call('ZREM', KEYS[1], team) else redis.call('ZADD', KEYS[1], at, team) end
  end
end
return 1
