-- The gateway takes a reservation to send it to the broker. ARGV: fencing token, order id.
-- Returns {'COMMITTED', reservation json} | {'EXPIRED'} | {'STALE', detail}.
local token, oid = ARGV[1], ARGV[2]
local stale = check_fence(token)
if stale then return stale end
sweep(now_ms())
local raw = redis.call('HGET', K.resv, oid)
if not raw then
  -- Committed before (a gateway died between commit and acknowledgement): the same order
  -- again, so it is sent again and the broker ignores the repeated client order id.
  local known = redis.call('HGET', K.ord, oid)
  if known then return {'COMMITTED', known} end
  return {'EXPIRED'}
end
local r = cjson.decode(raw)
redis.call('HDEL', K.resv, oid)
redis.call('ZREM', K.dl, oid)
r.left = r.qty
r.held = r.amount
redis.call('HSET', K.ord, oid, cjson.encode(r))
audit('committed', {'oid', oid, 'inst', r.inst, 'side', r.side, 'sym', r.sym, 'qty', r.qty, 'amount', r.amount, 'vp', r.vp, 'price', r.price, 'fence', token})
return {'COMMITTED', raw}
