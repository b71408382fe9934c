-- One workspace's budgets for Web API methods, shared by every instance (GCRA: a theoretical
-- arrival time `tat` that each call pushes on by `interval`; up to `burst` calls may go at once).
-- Reserves one turn in each budget given (several calls asked for at once, one round trip) and
-- answers, for each, how many milliseconds to wait for it. With hold_ms > 0 (Slack answered 429
-- with Retry-After) nobody's turn in that budget comes before that long from now.
-- KEYS: budgets, all of one workspace (one hash tag, one slot). ARGV: interval_ms, burst, hold_ms
-- for each key in turn. Time is the server's, the same for all.
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local waits = {}
for i, budget in ipairs(KEYS) do
  local interval, burst, hold = tonumber(ARGV[3 * i - 2]), tonumber(ARGV[3 * i - 1]), tonumber(ARGV[3 * i])
  local tat = tonumber(redis.call('GET', budget) or now)
  if tat < now then tat = now end
  local tolerance = (burst - 1) * interval
  if hold > 0 then
    tat = math.max(tat, now + hold + tolerance)
    waits[i] = 0
  else
    waits[i] = math.max(now, tat - tolerance) - now
    tat = tat + interval
  end
  -- The key expires once idle long enough to be a full burst again: housekeeping, not a deadline.
  redis.call('SET', budget, string.format('%d', tat), 'PX', math.max(1, tat - now + interval))
end
return waits
