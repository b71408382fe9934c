-- Takes back a post's or a card's claim that is still pending (its sender learned nothing went out: its
-- rate-budget turn was not due), so the next try claims it afresh instead of searching the DM for it.
-- KEYS: the hash of claims (posts or cards). ARGV: the field, the pending marker.
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('HDEL', KEYS[1], ARGV[1]) end
return 0
