-- Forgets effects that were carried out, unless one was owed again meanwhile (its value changed),
-- and says how many are still owed: at 0 the queue entry is done, and the next change adds a new one.
-- KEYS: owed effects. ARGV: field, value, field, value, ...
for i = 1, #ARGV, 2 do
  if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[i + 1] then redis.call('HDEL', KEYS[1], ARGV[i]) end
end
return redis.call('HLEN', KEYS[1])
