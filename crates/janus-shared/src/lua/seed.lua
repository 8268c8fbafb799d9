-- The gateway sets the ledger up: from the broker on a first start, or rebuilt from the
-- journal and the broker after Redis lost it. Everything is replaced.
-- ARGV: fencing token, state as JSON (see ledger.rs `Seed`).
local token, raw = ARGV[1], ARGV[2]
local s = cjson.decode(raw)
local f = tonumber(redis.call('GET', K.fence) or '0')
if tonumber(token) < f then
  return {'STALE', 'fencing token ' .. token .. ' is older than the current one ' .. I(f)}
end
for _, k in ipairs({K.meta, K.amt, K.sell, K.shold, K.mark, K.pend, K.resv, K.dl, K.ord, K.trades, K.syms, K.answers, K.books}) do
  redis.call('DEL', k)
end
redis.call('SET', K.fence, token)
redis.call('HSET', K.meta, 'cash', s.cash, 'frozen', s.frozen, 'date', s.date, 'max_positions', s.max_positions,
  'cap_bp', s.cap_bp, 'breaker_bp', s.breaker_bp, 'prev_total', s.prev_total, 'blocked', s.blocked,
  'next_id', s.next_id, 'seq', s.seq)
for _, p in ipairs(s.positions) do
  redis.call('HSET', K.amt, p.sym, p.amount)
  redis.call('HSET', K.sell, p.sym, p.sellable)
  if tonumber(p.shold) > 0 then redis.call('HSET', K.shold, p.sym, p.shold) end
  redis.call('SADD', K.syms, p.sym)
end
for sym, p in pairs(s.marks) do redis.call('HSET', K.mark, sym, p) end
for _, o in ipairs(s.orders) do
  redis.call('HSET', K.ord, o.oid, cjson.encode(o))
  if o.side == 'BUY' then
    redis.call('HINCRBY', K.pend, o.sym, I(tonumber(o.vp) * tonumber(o.left)))
    redis.call('SADD', K.syms, o.sym)
  end
end
for _, t in ipairs(s.trades) do redis.call('SADD', K.trades, t) end
for f, v in pairs(s.books) do redis.call('HSET', K.books, f, v) end
audit('seed', {'state', raw, 'fence', token})
return {'SEEDED'}
