-- The gateway closes a trading day: marks every symbol at its close, unlocks the shares
-- bought (T+1), checks the circuit breaker against the previous close, and opens the next
-- trading day for intents. ARGV: fencing token, closed date, next date, marks as JSON
-- {symbol: price}. Returns {'OPEN', total asset, blocked} | {'STALE', detail}.
local token, closed, nextd, marks = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local stale = check_fence(token)
if stale then return stale end
for sym, p in pairs(cjson.decode(marks)) do redis.call('HSET', K.mark, sym, p) end
local held = redis.call('HGETALL', K.amt)
for i = 1, #held, 2 do
  redis.call('HSET', K.sell, held[i], I(tonumber(held[i + 1]) - hnum(K.shold, held[i])))
end
local books = redis.call('HKEYS', K.books)
for _, f in ipairs(books) do
  if string.find(f, '|t1|', 1, true) then redis.call('HDEL', K.books, f) end
end
local total = total_asset()
local prev = hnum(K.meta, 'prev_total')
local bp = hnum(K.meta, 'breaker_bp')
local blocked = '0'
if prev > 0 and cmp_mul(total, 10000, prev, 10000 - bp) < 0 then blocked = '1' end
redis.call('HSET', K.meta, 'prev_total', I(total), 'blocked', blocked, 'date', nextd)
redis.call('DEL', K.answers)
audit('day', {'closed', closed, 'next', nextd, 'marks', marks, 'total', I(total), 'blocked', blocked, 'fence', token})
return {'OPEN', I(total), blocked}
