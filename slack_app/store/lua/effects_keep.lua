-- Claims afresh the entries a consumer is working on, so nobody takes them over while it works; only
-- those it still owns: an entry another consumer took over (this one went quiet too long) stays theirs.
-- KEYS: the stream. ARGV: group, consumer, entry ids.
local kept = 0
for i = 3, #ARGV do
  local pending = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
  if pending[1] and pending[1][2] == ARGV[2] then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
    kept = kept + 1
  end
end
return kept
