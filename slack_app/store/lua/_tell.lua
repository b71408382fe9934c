-- Included after _owe: what each outcome of an answer, an ending or an offer owes, the one place that
-- decides which messages a change touches. Expects locals ask, answers, cards and offers (keys).
local status_changes = {took_last = true, reopened = true, cancelled = true, expired = true, offer_took_last = true,
                        closed_quietly = true}
local summary_changes = {took = true, took_last = true, withdrew = true, reopened = true, cancelled = true,
                         expired = true, closed_quietly = true, done = true, offered = true, offer_took = true, offer_took_last = true,
                         offer_declined = true, offer_lapsed = true, suggestion_sent = true, suggestion_refused = true}
-- Outcomes that find the ask already covered: the answerer's card thanks them for offering.
local late = {already_covered = true, offer_lapsed = true}
local notices = {took = 'helper_found', took_last = 'helper_found', withdrew = 'helper_stepped_back',
                 reopened = 'helper_stepped_back', all_declined = 'all_declined', expired = 'expired'}
-- Changes that may end a workflow step's ask: the step is owed a look (routing.py decides whether it completes).
local step_changes = {cancelled = true, expired = true, done = true, all_declined = true, closed_quietly = true}
local quiet = {unchanged = true, missing = true, not_asker = true, not_allowed = true, not_teammate = true}

local function is_teammate(user)
  for _, teammate in ipairs(cjson.decode(redis.call('HGET', ask, 'teammates'))) do
    if teammate == user then return true end
  end
  return false
end

local function tell(outcome, user)
  if quiet[outcome] then return end
  local teammates = cjson.decode(redis.call('HGET', ask, 'teammates'))
  if status_changes[outcome] then
    for _, teammate in ipairs(teammates) do owe('card:' .. teammate) end
  elseif outcome == 'done' then
    for _, helper in ipairs(cjson.decode(redis.call('HGET', ask, 'helpers'))) do owe('card:' .. helper) end
  elseif late[outcome] then
    owe('card:' .. user, seq() .. ' late')
  else
    if is_teammate(user) then owe('card:' .. user) end
  end
  if summary_changes[outcome] or redis.call('HEXISTS', offers, user) == 1 then owe('summary') end
  if notices[outcome] then owe_post('notice', {notice = notices[outcome], helper = user}) end
  if outcome == 'done' then
    for _, helper in ipairs(cjson.decode(redis.call('HGET', ask, 'helpers'))) do
      owe_post('notice', {notice = 'thanks_prompt', helper = helper})
    end
  end
  -- The asker's DM about an offer: posted when it is made; redrawn when it is answered, or when the
  -- ask's status moves under the offers still waiting (' moved').
  if outcome == 'offered' then
    owe_post('offer_notice', {helper = user})
  elseif redis.call('HLEN', offers) > 0 then
    local moved = status_changes[outcome] or outcome == 'done'
    owe('offer_notices:' .. user, seq() .. (moved and ' moved' or ''))
  end
  if outcome == 'suggestion_sent' then owe('suggested:' .. user) end
  if step_changes[outcome] and (redis.call('HGET', ask, 'step') or '') ~= '' then owe('step') end
  owe('home')
end

-- The script's answer: the change's effects owed, and the ask as it now stands (with `extra` fields).
local function told(outcome, user, extra)
  tell(outcome, user)
  extra = extra or {}
  extra.wake = wake()
  return snapshot(outcome, extra)
end
