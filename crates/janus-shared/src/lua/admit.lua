-- Admit one order intent of a strategy instance, atomically against the shared account.
-- ARGV: instance, intent id, side, symbol, quantity, cash to freeze (buys: price x quantity +
-- fees), value price (the mark the cap is measured at), date, reservation ttl in ms, limit price.
-- Returns {'RESERVED', order id} | {'REFUSED', reason code, detail} | {'ERROR', code, detail}.
-- The hot path of the shared account: the account's fields are read in one call and written
-- in one call. Expired reservations are freed by the gateway's sweep (every few ms), not here.
local inst, iid, side, sym = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local qty, amount, vp, date, ttl, price = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]), ARGV[8], tonumber(ARGV[9]), ARGV[10]
local m = redis.call('HMGET', K.meta, 'date', 'blocked', 'max_positions', 'cap_bp', 'cash', 'frozen', 'next_id', 'seq')
local open = m[1]
if not open then
  return {'ERROR', 'NO_LEDGER', 'the shared ledger is empty: no gateway has set it up (or Redis lost it); start or restart the gateway'}
end
if date ~= open then
  return {'ERROR', 'WRONG_DATE', 'the intent is for ' .. date .. ' but the account trades ' .. tostring(open) .. ' next'}
end
local key = inst .. '/' .. iid
local prev = redis.call('HGET', K.answers, key)
if prev then return cjson.decode(prev) end
local cash, frozen = tonumber(m[5]) or 0, tonumber(m[6]) or 0
local seq = (tonumber(m[8]) or 0) + 1

local function refuse(reason, detail)
  redis.call('HSET', K.meta, 'seq', I(seq))
  audit_entry(seq, 'refused', {'inst', inst, 'iid', iid, 'side', side, 'sym', sym, 'qty', I(qty), 'amount', I(amount), 'vp', I(vp), 'reason', reason, 'detail', detail}, I(cash), I(frozen))
  local ans = {'REFUSED', reason, detail}
  redis.call('HSET', K.answers, key, cjson.encode(ans))
  return ans
end

if side == 'BUY' then
  if m[2] == '1' then
    return refuse('CIRCUIT_BREAKER', 'equity fell more than the limit at the last close; no new buys today')
  end
  local amt, pend = hnum(K.amt, sym), hnum(K.pend, sym)
  if amt == 0 and pend == 0 then
    local count = redis.call('SCARD', K.syms)
    local max = tonumber(m[3]) or 0
    if count >= max then
      return refuse('MAX_POSITIONS', I(count) .. ' positions held or pending, the limit is ' .. I(max))
    end
  end
  local total = cash + frozen + market_value()
  local after = amt * hnum(K.mark, sym) + pend + vp * qty
  local cap = tonumber(m[4]) or 0
  if cmp_mul(after, 10000, total, cap) > 0 then
    return refuse('CONCENTRATION', 'would hold ' .. I(after) .. ' of total asset ' .. I(total) .. ' (units of 0.0001 CNY), the cap is ' .. I(cap) .. ' bp')
  end
  if amount > cash then
    return refuse('INSUFFICIENT_CASH', 'needs ' .. I(amount) .. ' frozen, ' .. I(cash) .. ' free (units of 0.0001 CNY)')
  end
  cash, frozen = cash - amount, frozen + amount
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
local oid = (tonumber(m[7]) or 0) + 1
redis.call('HSET', K.meta, 'cash', I(cash), 'frozen', I(frozen), 'next_id', I(oid), 'seq', I(seq))
local r = {inst = inst, iid = iid, side = side, sym = sym, qty = I(qty), amount = I(amount), vp = I(vp), price = price, date = date}
redis.call('HSET', K.resv, I(oid), cjson.encode(r))
redis.call('ZADD', K.dl, I(now_ms() + ttl), I(oid))
audit_entry(seq, 'reserved', {'oid', I(oid), 'inst', inst, 'iid', iid, 'side', side, 'sym', sym, 'qty', I(qty), 'amount', I(amount), 'vp', I(vp), 'price', price}, I(cash), I(frozen))
local ans = {'RESERVED', I(oid)}
redis.call('HSET', K.answers, key, cjson.encode(ans))
return ans
