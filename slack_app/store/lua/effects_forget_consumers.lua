-- Deletes the group's consumers that hold nothing and were last seen long ago (a process that stopped,
-- or died and had its entries taken over): one more per stream at every start otherwise. Checked and
-- deleted in one step, so a consumer that reads meanwhile is never deleted with entries it holds.
-- KEYS: the stream. ARGV: group, idle milliseconds past which a consumer is gone.
local gone = 0
for _, consumer in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
  local info = {}
  for i = 1, #consumer, 2 do info[consumer[i]] = consumer[i + 1] end
  if tonumber(info['pending']) == 0 and tonumber(info['idle']) > tonumber(ARGV[2]) then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], info['name'])
    gone = gone + 1
  end
end
return gone
