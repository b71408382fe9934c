-- A workspace's budget for one Web API method, shared by every instance (GCRA: a theoretical
-- arrival time `tat` that each call pushes on by `interval`; up to `burst` calls may go at once).
-- Reserves the caller's turn and answers how many milliseconds to wait for it. With hold_ms > 0
-- (Slack answered 429 with Retry-After) nobody's turn comes before that long from now.
-- KEYS: the budget. ARGV: interval_ms, burst, hold_ms. Time is the server's, the same for all.
local interval, burst, hold = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local tolerance = (burst - 1) * interval
if hold > 0 then
  tat = math.max(tat, now + hold + tolerance)
  redis.call('SET', KEYS[1], string.format('%d', tat), 'PX', math.max(1, tat - now + interval))
  return 0
end
local turn = math.max(now, tat - tolerance)
tat = tat + interval
-- The key expires once idle long enough to be a full burst again: housekeeping, not a deadline.
redis.call('SET', KEYS[1], string.format('%d', tat), 'PX', math.max(1, tat - now + interval))
return turn - now
