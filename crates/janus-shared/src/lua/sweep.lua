-- Free what expired reservations hold (the gateway runs it between intents, so the cash of an
-- instance that died comes back even when no other intent arrives). Returns how many expired.
local before = redis.call('ZCARD', K.dl)
sweep(now_ms())
return before - redis.call('ZCARD', K.dl)
