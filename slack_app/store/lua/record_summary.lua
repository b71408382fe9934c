-- Records where the asker's summary is, on an ask that still exists: one forgotten (or lost with Redis's
-- data) while its summary was on its way must not come back as a hash holding only these two fields.
-- KEYS: ask. ARGV: channel, ts.
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'summary_channel', ARGV[1], 'summary_ts', ARGV[2])
return 1
