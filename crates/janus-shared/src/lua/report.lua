-- The gateway applies one execution report of a committed order.
-- ARGV: fencing token, order id, kind (fill | done), trade id, quantity, price, commission, taxes.
-- `fill` applies one execution (a trade id seen before is ignored); `done` ends the order and
-- gives back what its unfilled rest holds.
-- Returns {'APPLIED'} | {'DUPLICATE'} | {'UNKNOWN'} | {'INVALID', detail} (more shares than
-- are open: nothing is applied) | {'STALE', detail}.
local token, oid, kind, trade = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local stale = check_fence(token)
if stale then return stale end
local raw = redis.call('HGET', K.ord, oid)
if not raw then return {'UNKNOWN'} end
local r = cjson.decode(raw)
if kind == 'fill' then
  local qty, price, fees = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]) + tonumber(ARGV[8])
  local left = tonumber(r.left)
  if redis.call('SISMEMBER', K.trades, trade) == 1 then return {'DUPLICATE'} end
  if qty <= 0 or qty > left then
    return {'INVALID', 'fill ' .. trade .. ' of ' .. I(qty) .. ' shares for order ' .. oid .. ', which has ' .. I(left) .. ' open'}
  end
  redis.call('SADD', K.trades, trade)
  if r.side == 'BUY' then
    local cost = qty * price + fees
    local held = tonumber(r.held)
    local use = cost
    if use > held then use = held end
    redis.call('HINCRBY', K.meta, 'frozen', I(-use))
    redis.call('HINCRBY', K.meta, 'cash', I(-(cost - use)))
    r.held = I(held - use)
    redis.call('HINCRBY', K.amt, r.sym, I(qty))
    redis.call('HSETNX', K.sell, r.sym, '0')
    redis.call('HINCRBY', K.pend, r.sym, I(-(tonumber(r.vp) * qty)))
    redis.call('HINCRBY', K.books, r.inst .. '|pos|' .. r.sym, I(qty))
    redis.call('HINCRBY', K.books, r.inst .. '|t1|' .. r.sym, I(qty))
    redis.call('HINCRBY', K.books, r.inst .. '|cash', I(-cost))
  else
    redis.call('HINCRBY', K.amt, r.sym, I(-qty))
    redis.call('HINCRBY', K.shold, r.sym, I(-qty))
    redis.call('HINCRBY', K.meta, 'cash', I(qty * price - fees))
    if redis.call('HINCRBY', K.books, r.inst .. '|pos|' .. r.sym, I(-qty)) == 0 then
      redis.call('HDEL', K.books, r.inst .. '|pos|' .. r.sym)
    end
    redis.call('HINCRBY', K.books, r.inst .. '|cash', I(qty * price - fees))
  end
  r.left = I(left - qty)
  redis.call('HSET', K.ord, oid, cjson.encode(r))
  tidy(r.sym)
  audit('fill', {'oid', oid, 'inst', r.inst, 'side', r.side, 'sym', r.sym, 'trade', trade, 'qty', I(qty), 'price', ARGV[6], 'commission', ARGV[7], 'taxes', ARGV[8], 'fence', token})
  return {'APPLIED'}
end
redis.call('HDEL', K.ord, oid)
give_back(r, tonumber(r.left), tonumber(r.held))
audit('done', {'oid', oid, 'inst', r.inst, 'side', r.side, 'sym', r.sym, 'left', r.left, 'held', r.held, 'vp', r.vp, 'fence', token})
return {'APPLIED'}
