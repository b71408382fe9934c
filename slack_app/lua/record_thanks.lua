-- Records a thank-you once per ask and helper, and files it under its week for the digest.
-- KEYS: thanked marker, the week's kudos, the helper's thanks. ARGV: kudos JSON, how many to keep.
if redis.call('SET', KEYS[1], '1', 'NX') then
  redis.call('RPUSH', KEYS[2], ARGV[1])
  redis.call('LPUSH', KEYS[3], ARGV[1])
  redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[2]) - 1)
  return 1
end
return 0
