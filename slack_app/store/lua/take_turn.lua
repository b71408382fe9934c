-- One workspace's budgets for Web API methods, shared by every instance (GCRA: a theoretical arrival
-- time `tat` that each call pushes on by `interval`; up to `burst` calls may go at once), and the holds
-- Slack put on them (a 429's Retry-After, as an absolute time: `hold`). Several operations asked for at
-- once are done in one round trip; for each it answers how many milliseconds the caller is to wait.
-- KEYS: budgets (hashes with fields tat and hold), all of one workspace (one hash tag, one slot).
-- ARGV: four per key in turn: interval_ms, burst, op, hold_ms. The ops:
--   take — a background call reserves its turn: wait for it (never before a hold ends)
--   now  — a call a person is waiting for: it counts against the budget but waits only for a hold
--   back — a turn reserved and not used is given back (answers 0)
--   peek — how long a hold still has to run (the check just before a call goes out)
--   hold — Slack said 429: nobody's call goes before hold_ms from now (answers 0)
-- Time is the server's, the same for every instance.
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local waits = {}
for i, budget in ipairs(KEYS) do
  local interval, burst = tonumber(ARGV[4 * i - 3]), tonumber(ARGV[4 * i - 2])
  local op, hold_ms = ARGV[4 * i - 1], tonumber(ARGV[4 * i])
  local state = redis.call('HMGET', budget, 'tat', 'hold')
  local tat, hold = math.max(tonumber(state[1] or now), now), tonumber(state[2] or 0)
  local held = math.max(0, hold - now)
  local tolerance = (burst - 1) * interval
  waits[i] = 0
  if op == 'take' then
    if held > 0 then tat = math.max(tat, hold + tolerance) end
    waits[i] = math.max(now, tat - tolerance) - now
    tat = tat + interval
  elseif op == 'now' then
    waits[i] = held
    tat = tat + interval
  elseif op == 'back' then
    tat = math.max(now, tat - interval)
  elseif op == 'peek' then
    waits[i] = held
  elseif op == 'hold' then
    hold = math.max(hold, now + hold_ms)
  end
  redis.call('HSET', budget, 'tat', string.format('%d', tat), 'hold', string.format('%d', hold))
  -- The key expires once idle long enough to be a full burst again with no hold: housekeeping, not a deadline.
  redis.call('PEXPIRE', budget, math.max(1, tat - now + interval, hold - now + interval))
end
return waits
