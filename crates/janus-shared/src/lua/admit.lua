-- Admit order intents of strategy instances, atomically against the shared account: one
-- intent, or a batch of them decided one after the other exactly as if each came alone (no
-- other script runs in between, and each decision sees the reservations before it).
-- ARGV: reservation ttl in ms, then 9 fields per intent: instance, intent id, side, symbol,
-- quantity, cash to freeze (buys: price x quantity + fees), value price (the mark the cap is
-- measured at), date, limit price.
-- Returns 3 values per intent: 'RESERVED', order id, '' | 'REFUSED', reason code, detail |
-- 'ERROR', code, detail.
-- The hot path of the shared account: the account's fields are read once and written once per
-- call, and the holdings are valued once (admissions do not change holdings or marks). Expired
-- reservations are freed by the gateway's sweep (every few ms), not here.
local ttl = tonumber(ARGV[1])
local m = redis.call('HMGET', K.meta, 'date', 'blocked', 'max_positions', 'cap_bp', 'cash', 'frozen', 'next_id', 'seq')
local open = m[1]
local out = {}
local function push(a, b, c)
  out[#out + 1] = a; out[#out + 1] = b; out[#out + 1] = c or ''
end
if not open then
  for _ = 2, #ARGV, 9 do
    push('ERROR', 'NO_LEDGER', 'the shared ledger is empty: no gateway has set it up (or Redis lost it); start or restart the gateway')
  end
  return out
end
local blocked, max, cap = m[2] == '1', tonumber(m[3]) or 0, tonumber(m[4]) or 0
local cash, frozen = tonumber(m[5]) or 0, tonumber(m[6]) or 0
local next_id, seq = tonumber(m[7]) or 0, tonumber(m[8]) or 0
local seq_before = seq
local holdings, deadline = nil, nil

for i = 2, #ARGV, 9 do
  local inst, iid, side, sym = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local qty, amount, vp = tonumber(ARGV[i + 4]), tonumber(ARGV[i + 5]), tonumber(ARGV[i + 6])
  local date, price = ARGV[i + 7], ARGV[i + 8]
  local key = inst .. '/' .. iid
  local prev = date == open and redis.call('HGET', K.answers, key)
  if date ~= open then
    push('ERROR', 'WRONG_DATE', 'the intent is for ' .. date .. ' but the account trades ' .. tostring(open) .. ' next')
  elseif prev then
    local p = cjson.decode(prev)
    push(p[1], p[2], p[3])
  else
    local reason, detail
    if side == 'BUY' then
      local amt, pend = hnum(K.amt, sym), hnum(K.pend, sym)
      if blocked then
        reason, detail = 'CIRCUIT_BREAKER', 'equity fell more than the limit at the last close; no new buys today'
      end
      if not reason and amt == 0 and pend == 0 then
        local count = redis.call('SCARD', K.syms)
        if count >= max then
          reason, detail = 'MAX_POSITIONS', I(count) .. ' positions held or pending, the limit is ' .. I(max)
        end
      end
      if not reason then
        holdings = holdings or market_value()
        local total = cash + frozen + holdings
        local after = amt * hnum(K.mark, sym) + pend + vp * qty
        if cmp_mul(after, 10000, total, cap) > 0 then
          reason, detail = 'CONCENTRATION', 'would hold ' .. I(after) .. ' of total asset ' .. I(total) .. ' (units of 0.0001 CNY), the cap is ' .. I(cap) .. ' bp'
        elseif amount > cash then
          reason, detail = 'INSUFFICIENT_CASH', 'needs ' .. I(amount) .. ' frozen, ' .. I(cash) .. ' free (units of 0.0001 CNY)'
        end
      end
      if not reason then
        cash, frozen = cash - amount, frozen + amount
        redis.call('HINCRBY', K.pend, sym, I(vp * qty))
        redis.call('SADD', K.syms, sym)
      end
    else
      local sellable = hnum(K.sell, sym)
      if qty > sellable then
        if hnum(K.amt, sym) >= qty then
          reason, detail = 'T_PLUS_1', 'wants ' .. I(qty) .. ' shares, ' .. I(sellable) .. ' sellable: shares bought today sell from the next trading day (T+1), or are held by other sells'
        else
          reason, detail = 'NOT_ENOUGH_SHARES', 'wants ' .. I(qty) .. ' shares, ' .. I(sellable) .. ' sellable'
        end
      else
        redis.call('HINCRBY', K.sell, sym, I(-qty))
        redis.call('HINCRBY', K.shold, sym, I(qty))
        amount = 0
      end
    end
    seq = seq + 1
    local ans
    if reason then
      audit_entry(seq, 'refused', {'inst', inst, 'iid', iid, 'side', side, 'sym', sym, 'qty', I(qty), 'amount', I(amount), 'vp', I(vp), 'reason', reason, 'detail', detail}, I(cash), I(frozen))
      ans = {'REFUSED', reason, detail}
    else
      next_id = next_id + 1
      local oid = I(next_id)
      local r = {inst = inst, iid = iid, side = side, sym = sym, qty = I(qty), amount = I(amount), vp = I(vp), price = price, date = date}
      redis.call('HSET', K.resv, oid, cjson.encode(r))
      deadline = deadline or I(now_ms() + ttl)
      redis.call('ZADD', K.dl, deadline, oid)
      audit_entry(seq, 'reserved', {'oid', oid, 'inst', inst, 'iid', iid, 'side', side, 'sym', sym, 'qty', I(qty), 'amount', I(amount), 'vp', I(vp), 'price', price}, I(cash), I(frozen))
      ans = {'RESERVED', oid}
    end
    redis.call('HSET', K.answers, key, cjson.encode(ans))
    push(ans[1], ans[2], ans[3])
  end
end
if seq ~= seq_before then
  redis.call('HSET', K.meta, 'cash', I(cash), 'frozen', I(frozen), 'next_id', I(next_id), 'seq', I(seq))
end
return out
