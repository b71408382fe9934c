-- Records a thank-you once per ask and helper, and files it under its week for the digest; the
-- ask's first thank-you (to any of its helpers) counts once in the workspace's weekly counters.
-- KEYS: thanked marker, the week's kudos, the helper's thanks, the counters of the week the ask was
-- sent, the asker's and the helper's index of weeks with notes, then the thanked markers of the ask's
-- other helpers.
-- ARGV: kudos JSON, how many to keep, when the counters expire ('' when the ask predates them), the week.
if not redis.call('SET', KEYS[1], '1', 'NX') then return 0 end
redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('LPUSH', KEYS[3], ARGV[1])
redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[2]) - 1)
redis.call('SADD', KEYS[5], ARGV[4])
redis.call('SADD', KEYS[6], ARGV[4])
if ARGV[3] ~= '' and (#KEYS == 6 or redis.call('EXISTS', unpack(KEYS, 7)) == 0) then
  redis.call('HINCRBY', KEYS[4], 'thanked', 1)
  redis.call('EXPIREAT', KEYS[4], ARGV[3])
end
return 1
