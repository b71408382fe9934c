-- Records where the asker's summary is, on the ask and as its settled post, in one step: a process killed
-- between the two would leave the ask knowing its summary while the post's claim stayed pending for good.
-- Only on an ask that still exists: one forgotten (or lost with Redis's data) while its summary was on its
-- way must not come back as a hash holding only these fields.
-- KEYS: ask, its posts. ARGV: channel, ts, the summary's post id.
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'summary_channel', ARGV[1], 'summary_ts', ARGV[2])
redis.call('HSET', KEYS[2], ARGV[3], ARGV[1] .. ' ' .. ARGV[2])
return 1
