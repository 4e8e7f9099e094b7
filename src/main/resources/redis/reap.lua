-- Finds nodes whose heartbeat key has expired and deals with their members in one atomic step,
-- so each dead node is reaped exactly once however many nodes run the janitor. A member whose
-- resumable session the dead node owned is not removed but put in its gap (as suspend.lua does),
-- with the window counted from the node's last heartbeat; every other member is removed.
-- Builds key names at run time (its rooms, their members' sessions, and its own sessions).
-- KEYS[1] the node registry (sorted set), KEYS[2] the sorted set of sessions in their gap
-- ARGV[1] key prefix, ARGV[2] resume window in ms (0: resume is off)
-- Returns a flat [what, node, room, peer, ...] list, what = "left" (removed) or "reconnecting"
-- (kept in its gap).
local prefix = ARGV[1]
local window = tonumber(ARGV[2])
local out = {}
for _, node in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if redis.call('EXISTS', prefix .. ':node:' .. node) == 0 then
    local deadline = tonumber(redis.call('ZSCORE', KEYS[1], node)) + window
    local roomsKey = prefix .. ':node:' .. node .. ':rooms'
    local marker = '{"node":"' .. node .. '",'
    for _, room in ipairs(redis.call('SMEMBERS', roomsKey)) do
      local membersKey = prefix .. ':{' .. room .. '}:members'
      local entries = redis.call('HGETALL', membersKey)
      for i = 1, #entries, 2 do
        local peer, entry = entries[i], entries[i + 1]
        if string.sub(entry, 1, #marker) == marker then
          local session = prefix .. ':session:{' .. peer .. '}'
          if window > 0 and redis.call('HGET', session, 'node') == node then
            redis.call('HSET', membersKey, peer, '{"node":"-",' .. string.sub(entry, #marker + 1))
            redis.call('HSET', session, 'gap', deadline)
            redis.call('ZADD', KEYS[2], deadline, peer)
            table.insert(out, 'reconnecting')
          else
            redis.call('HDEL', membersKey, peer)
            table.insert(out, 'left')
          end
          table.insert(out, node)
          table.insert(out, room)
          table.insert(out, peer)
        end
      end
      if redis.call('HLEN', membersKey) == 0 then
        redis.call('DEL', prefix .. ':{' .. room .. '}:seq')
      end
    end
    -- Its sessions in no room (or in none of its rooms any more) need a gap too, or nothing
    -- would ever end them; with resume off nothing can resume them, so they go now.
    local sessionsKey = prefix .. ':node:' .. node .. ':sessions'
    for _, peer in ipairs(redis.call('SMEMBERS', sessionsKey)) do
      local session = prefix .. ':session:{' .. peer .. '}'
      local s = redis.call('HMGET', session, 'node', 'gap')
      if s[1] == node and not s[2] then
        if window > 0 then
          redis.call('HSET', session, 'gap', deadline)
          redis.call('ZADD', KEYS[2], deadline, peer)
        else
          redis.call('DEL', session, session .. ':events')
        end
      end
    end
    redis.call('DEL', roomsKey, sessionsKey)
    redis.call('ZREM', KEYS[1], node)
  end
end
return out
