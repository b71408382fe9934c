-- Counts one person asking or helping, into their private balance and into the week's counts of
-- people who only asked, only helped, or both — without the week keeping who.
--
-- The week's counters are plain numbers. What makes "both" countable is the person's own balance
-- remembering the last week they asked and the last week they helped (one week name each,
-- overwritten every week, deleted with the rest of their data): the first time they ask in a week
-- they helped in, one "only helped" becomes one "both". Weeks only move forward, so one name per
-- role is enough. Nothing in the week's counters can be turned back into a list of people.
-- KEYS: the person's balance, this week's counters. ARGV: role (asked or helped), this week,
-- expire at, then field, amount… added to the week's counters as well.
local balance, counters = KEYS[1], KEYS[2]
local role, week = ARGV[1], ARGV[2]
local other = role == 'asked' and 'helped' or 'asked'
redis.call('HINCRBY', balance, role, 1)
for i = 4, #ARGV, 2 do redis.call('HINCRBY', counters, ARGV[i], ARGV[i + 1]) end
if redis.call('HGET', balance, role .. '_week') ~= week then
  redis.call('HSET', balance, role .. '_week', week)
  if redis.call('HGET', balance, other .. '_week') == week then
    redis.call('HINCRBY', counters, 'people_only_' .. other, -1)
    redis.call('HINCRBY', counters, 'people_both', 1)
  else
    redis.call('HINCRBY', counters, 'people_only_' .. role, 1)
  end
end
redis.call('EXPIREAT', counters, ARGV[3])
return 1
