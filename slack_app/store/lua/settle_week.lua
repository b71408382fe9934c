-- A week's figures, frozen the first time they are shown: copies its counters into its snapshot, once
-- (whichever instance comes first; later calls find it made), stamped with when (settled_at, epoch
-- seconds), and returns the snapshot. Counts that arrive later go to the counters only.
-- KEYS: the week's counters, its snapshot. ARGV: now (epoch seconds), expire at (epoch seconds).
if redis.call('HEXISTS', KEYS[2], 'settled_at') == 0 then
  local counters = redis.call('HGETALL', KEYS[1])
  if #counters > 0 then redis.call('HSET', KEYS[2], unpack(counters)) end
  redis.call('HSET', KEYS[2], 'settled_at', ARGV[1])
  redis.call('EXPIREAT', KEYS[2], ARGV[2])
end
return redis.call('HGETALL', KEYS[2])
