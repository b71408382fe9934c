-- Lets a lease go at once, if it is still this holder's: the next holder need not wait for it to lapse.
-- The token stays, so the holder that let go cannot renew it later (see hold.lua).
-- KEYS: the lease. ARGV: token.
if redis.call('HGET', KEYS[1], 'token') == ARGV[1] then
  redis.call('HSET', KEYS[1], 'until', '0')
  return 1
end
return 0
