-- Lowers a workspace's entry in a due index (or adds it) and counts the change, so that a poller
-- looking at that workspace right now does not raise the entry past the work just stored.
-- KEYS: next, changes. ARGV: workspace, moment.
redis.call('ZADD', KEYS[1], 'LT', ARGV[2], ARGV[1])
redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
return 1
