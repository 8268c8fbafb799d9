-- Shared by every ledger script. Money and prices are integers in 0.0001 CNY; Lua keeps them
-- exactly as doubles below 2^53, and every number written back goes through I() so that Redis
-- never sees an exponent. Products that could pass 2^53 are compared with cmp_mul.
local K = {
  meta = KEYS[1], amt = KEYS[2], sell = KEYS[3], shold = KEYS[4], mark = KEYS[5], pend = KEYS[6],
  resv = KEYS[7], dl = KEYS[8], ord = KEYS[9], trades = KEYS[10], audit = KEYS[11], fence = KEYS[12],
  syms = KEYS[13], answers = KEYS[14], books = KEYS[15],
}
-- `books` keeps each instance's own book inside the account, from its fills: `INST|cash` (cash
-- in minus cash out), `INST|pos|SYMBOL` (shares) and `INST|t1|SYMBOL` (shares bought today).

local function I(x) return string.format('%d', x) end
local function hnum(key, field)
  local v = redis.call('HGET', key, field)
  if v then return tonumber(v) end
  return 0
end
-- Compare a*b with c*d exactly, for a and c below 2^53 and b and d below 2^26 (basis-point
-- factors): each product is split into 2^26 limbs, every partial product stays below 2^53.
-- Returns -1, 0 or 1.
local function cmp_mul(a, b, c, d)
  local B = 67108864
  local function split(x, y)
    local xh, xl = math.floor(x / B), x % B
    local low = xl * y
    return xh * y + math.floor(low / B), low % B
  end
  local h1, l1 = split(a, b)
  local h2, l2 = split(c, d)
  if h1 ~= h2 then return h1 < h2 and -1 or 1 end
  if l1 ~= l2 then return l1 < l2 and -1 or 1 end
  return 0
end

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Market value of the holdings at their marks (two calls, however many holdings).
local function market_value()
  local held = redis.call('HGETALL', K.amt)
  if #held == 0 then return 0 end
  local syms = {}
  for i = 1, #held, 2 do syms[#syms + 1] = held[i] end
  local marks = redis.call('HMGET', K.mark, unpack(syms))
  local mv = 0
  for i = 1, #syms do
    mv = mv + tonumber(held[2 * i]) * (tonumber(marks[i]) or 0)
  end
  return mv
end

-- Total asset: free cash, cash held for reservations and open buys, and holdings at their marks.
local function total_asset()
  local c = redis.call('HMGET', K.meta, 'cash', 'frozen')
  return (tonumber(c[1]) or 0) + (tonumber(c[2]) or 0) + market_value()
end

-- A symbol leaves the held-or-pending set when nothing of it is held, bought or being sold.
local function tidy(sym)
  if hnum(K.amt, sym) == 0 then redis.call('HDEL', K.amt, sym); redis.call('HDEL', K.sell, sym) end
  if hnum(K.pend, sym) == 0 then redis.call('HDEL', K.pend, sym) end
  if hnum(K.shold, sym) == 0 then redis.call('HDEL', K.shold, sym) end
  if hnum(K.amt, sym) == 0 and hnum(K.pend, sym) == 0 then redis.call('SREM', K.syms, sym) end
end

-- Append one entry to the audit stream: the sequence number, what happened, its fields, and
-- the free and frozen cash after it (so a reader can check every step).
local function audit_entry(seq, kind, fields, cash, frozen)
  local args = {'XADD', K.audit, '*', 'seq', I(seq), 'kind', kind}
  for i = 1, #fields do args[#args + 1] = fields[i] end
  args[#args + 1] = 'cash'; args[#args + 1] = cash
  args[#args + 1] = 'frozen'; args[#args + 1] = frozen
  redis.call(unpack(args))
end

local function audit(kind, fields)
  local seq = redis.call('HINCRBY', K.meta, 'seq', 1)
  local c = redis.call('HMGET', K.meta, 'cash', 'frozen')
  audit_entry(seq, kind, fields, c[1] or '0', c[2] or '0')
  return seq
end

-- Give back what a reservation or the unfilled rest of an order holds.
local function give_back(r, left, held)
  if r.side == 'BUY' then
    redis.call('HINCRBY', K.meta, 'cash', I(held))
    redis.call('HINCRBY', K.meta, 'frozen', I(-held))
    redis.call('HINCRBY', K.pend, r.sym, I(-(tonumber(r.vp) * left)))
  else
    redis.call('HINCRBY', K.shold, r.sym, I(-left))
    redis.call('HINCRBY', K.sell, r.sym, I(left))
  end
  tidy(r.sym)
end

-- Reservations past their deadline (their instance died or gave up) free what they hold.
local function sweep(now)
  local due = redis.call('ZRANGEBYSCORE', K.dl, '-inf', I(now))
  for _, id in ipairs(due) do
    local raw = redis.call('HGET', K.resv, id)
    if raw then
      local r = cjson.decode(raw)
      redis.call('HDEL', K.resv, id)
      give_back(r, tonumber(r.qty), tonumber(r.amount))
      audit('expired', {'oid', id, 'inst', r.inst, 'side', r.side, 'sym', r.sym, 'qty', r.qty, 'amount', r.amount, 'vp', r.vp})
    end
    redis.call('ZREM', K.dl, id)
  end
end

local function check_fence(token)
  local f = redis.call('GET', K.fence)
  if not f or f ~= token then
    return {'STALE', 'fencing token ' .. token .. ' is not the current one (' .. tostring(f) .. '): another gateway holds the lease'}
  end
  return nil
end
