-- Ends the sessions whose gap passed its deadline, or that overflowed (score 0), in one atomic
-- step, so each departure is returned once however many nodes run it. A session whose gap a
-- claim cleared meanwhile, or that is gone, only leaves the sorted set. Builds the sessions',
-- their rooms' and their owners' key names at run time.
-- KEYS[1] the sorted set of sessions in their gap
-- ARGV[1] key prefix, ARGV[2] now (ms), ARGV[3] most sessions to end in this call
-- Returns a flat [room, peer, reason, ...] list, reason = "expired" or "overflow".
local prefix = ARGV[1]
local out = {}
for _, peer in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))) do
  local session = prefix .. ':resume:{' .. peer .. '}'
  if redis.call('EXISTS', session) == 0 then
    -- A session of a release before buffers were streams, left in its gap by an old node during
    -- an upgrade: no node of this release can resume it, but it must still end.
    session = prefix .. ':session:{' .. peer .. '}'
  end
  local s = redis.call('HMGET', session, 'gap', 'over', 'node')
  if s[1] or s[2] == '1' then
    local reason = 'expired'
    if s[2] == '1' then
      reason = 'overflow'
    end
    local fields = redis.call('HKEYS', session)
    for _, field in ipairs(fields) do
      if string.sub(field, 1, 2) == 'r:' then
        local room = string.sub(field, 3)
        local membersKey = prefix .. ':{' .. room .. '}:members'
        if redis.call('HDEL', membersKey, peer) == 1 then
          table.insert(out, room)
          table.insert(out, peer)
          table.insert(out, reason)
        end
        if redis.call('HLEN', membersKey) == 0 then
          redis.call('DEL', prefix .. ':{' .. room .. '}:seq')
        end
      end
    end
    redis.call('DEL', session, session .. ':stream', session .. ':events')
    redis.call('SREM', prefix .. ':node:' .. s[3] .. ':sessions', peer)
  end
  redis.call('ZREM', KEYS[1], peer)
end
return out
