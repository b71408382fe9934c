-- A helper's own line on their offer (what they'd cover, or why that person) replaced; the offer's
-- facts stay. KEYS: the ask's offers. ARGV: helper, placeholder. Returns 1 if there was a line.
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 0 end
local offer = cjson.decode(raw)
if not offer.note or offer.note == '' then return 0 end
offer.note = ARGV[2]
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(offer))
return 1
