-- Replaces a sealed installation record only if it is still the one that was read: a running
-- instance that saved a freshly rotated token in between keeps it (`slack-ask rotate-key`).
-- KEYS: the record. ARGV: the value read, the same record sealed with the first key.
-- Returns 1 when replaced, 0 when the record changed (or went) since it was read.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
return 1
