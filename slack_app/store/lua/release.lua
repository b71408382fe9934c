-- Lets a lease go at once, if it is still this holder's: the next holder need not wait for it to lapse
-- (and the one that let go cannot renew it later: a renewal needs its token there, see hold.lua).
-- KEYS: the lease. ARGV: token.
if redis.call('HGET', KEYS[1], 'token') == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
