-- Admit one order intent of a strategy instance, atomically against the shared account.
-- ARGV: instance, intent id, side, symbol, quantity, cash to freeze (buys: price x quantity +
-- fees), value price (the mark the cap is measured at), date, reservation ttl in ms, limit price.
-- Returns {'RESERVED', order id} | {'REFUSED', reason code, detail} | {'ERROR', code, detail}.
local inst, iid, side, sym = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local qty, amount, vp, date, ttl, price = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]), ARGV[8], tonumber(ARGV[9]), ARGV[10]
if redis.call('EXISTS', K.meta) == 0 then
  return {'ERROR', 'NO_LEDGER', 'the shared ledger is empty: no gateway has set it up (or Redis lost it); start or restart the gateway'}
end
local open = redis.call('HGET', K.meta, 'date')
if date ~= open then
  return {'ERROR', 'WRONG_DATE', 'the intent is for ' .. date .. ' but the account trades ' .. tostring(open) .. ' next'}
end
sweep(now_ms())
local key = inst .. '/' .. iid
local prev = redis.call('HGET', K.answers, key)
if prev then return cjson.decode(prev) end

local function refuse(reason, detail)
  audit('refused', {'inst', inst, 'iid', iid, 'side', side, 'sym', sym, 'qty', I(qty), 'amount', I(amount), 'vp', I(vp), 'reason', reason, 'detail', detail})
  local ans = {'REFUSED', reason, detail}
  redis.call('HSET', K.answers, key, cjson.encode(ans))
  return ans
end

if side == 'BUY' then
  if redis.call('HGET', K.meta, 'blocked') == '1' then
    return refuse('CIRCUIT_BREAKER', 'equity fell more than the limit at the last close; no new buys today')
  end
  local held = hnum(K.amt, sym) > 0 or hnum(K.pend, sym) > 0
  if not held then
    local count = redis.call('SCARD', K.syms)
    local max = hnum(K.meta, 'max_positions')
    if count >= max then
      return refuse('MAX_POSITIONS', I(count) .. ' positions held or pending, the limit is ' .. I(max))
    end
  end
  local total = total_asset()
  local after = hnum(K.amt, sym) * hnum(K.mark, sym) + hnum(K.pend, sym) + vp * qty
  local cap = hnum(K.meta, 'cap_bp')
  if cmp_mul(after, 10000, total, cap) > 0 then
    return refuse('CONCENTRATION', 'would hold ' .. I(after) .. ' of total asset ' .. I(total) .. ' (units of 0.0001 CNY), the cap is ' .. I(cap) .. ' bp')
  end
  local cash = hnum(K.meta, 'cash')
  if amount > cash then
    return refuse('INSUFFICIENT_CASH', 'needs ' .. I(amount) .. ' frozen, ' .. I(cash) .. ' free (units of 0.0001 CNY)')
  end
  redis.call('HINCRBY', K.meta, 'cash', I(-amount))
  redis.call('HINCRBY', K.meta, 'frozen', I(amount))
  redis.call('HINCRBY', K.pend, sym, I(vp * qty))
  redis.call('SADD', K.syms, sym)
else
  local sellable = hnum(K.sell, sym)
  if qty > sellable then
    if hnum(K.amt, sym) >= qty then
      return refuse('T_PLUS_1', 'wants ' .. I(qty) .. ' shares, ' .. I(sellable) .. ' sellable: shares bought today sell from the next trading day (T+1), or are held by other sells')
    end
    return refuse('NOT_ENOUGH_SHARES', 'wants ' .. I(qty) .. ' shares, ' .. I(sellable) .. ' sellable')
  end
  redis.call('HINCRBY', K.sell, sym, I(-qty))
  redis.call('HINCRBY', K.shold, sym, I(qty))
  amount = 0
end
local oid = redis.call('HINCRBY', K.meta, 'next_id', 1)
local deadline = now_ms() + ttl
local r = {inst = inst, iid = iid, side = side, sym = sym, qty = I(qty), amount = I(amount), vp = I(vp), price = price, date = date}
redis.call('HSET', K.resv, I(oid), cjson.encode(r))
redis.call('ZADD', K.dl, I(deadline), I(oid))
audit('reserved', {'oid', I(oid), 'inst', inst, 'iid', iid, 'side', side, 'sym', sym, 'qty', I(qty), 'amount', I(amount), 'vp', I(vp), 'price', price})
local ans = {'RESERVED', I(oid)}
redis.call('HSET', K.answers, key, cjson.encode(ans))
return ans
