-- Adds to one week's workspace-wide counters and (re)sets when they expire, in one step.
-- The counters hold numbers only: no ids, no words. KEYS: the week's counters.
-- ARGV: expire at (epoch seconds), then field, amount, field, amount…
for i = 2, #ARGV, 2 do redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('EXPIREAT', KEYS[1], ARGV[1])
return 1
