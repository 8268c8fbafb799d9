-- An instance gives up a reservation it will not submit. ARGV: instance, order id.
-- Returns {'RELEASED'} | {'GONE'} (already committed, expired or released).
local inst, oid = ARGV[1], ARGV[2]
local raw = redis.call('HGET', K.resv, oid)
if not raw then return {'GONE'} end
local r = cjson.decode(raw)
if r.inst ~= inst then return {'GONE'} end
redis.call('HDEL', K.resv, oid)
redis.call('ZREM', K.dl, oid)
give_back(r, tonumber(r.qty), tonumber(r.amount))
audit('released', {'oid', oid, 'inst', inst, 'side', r.side, 'sym', r.sym, 'qty', r.qty, 'amount', r.amount, 'vp', r.vp})
return {'RELEASED'}
