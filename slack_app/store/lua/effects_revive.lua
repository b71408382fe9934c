-- A dead letter taken back into its shard's stream (`slack-ask effects retry`), with its tries afresh.
-- KEYS: the dead letters, the stream. ARGV: the dead letter's id.
local found = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
if #found == 0 then return 0 end
local fields, entry = found[1][2], {}
for i = 1, #fields, 2 do entry[fields[i]] = fields[i + 1] end
redis.call('XADD', KEYS[2], '*', 'team', entry.team, 'ask', entry.ask)
redis.call('XDEL', KEYS[1], ARGV[1])
return 1
