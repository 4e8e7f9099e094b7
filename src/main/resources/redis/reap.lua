-- Finds nodes whose heartbeat key has expired and removes their members from every room, in one
-- atomic step, so each dead node is reaped exactly once however many nodes run the janitor.
-- KEYS[1] the node registry (sorted set)
-- ARGV[1] key prefix
-- Returns a flat [node, room, peer, node, room, peer, ...] list of the members removed.
local prefix = ARGV[1]
local removed = {}
for _, node in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if redis.call('EXISTS', prefix .. ':node:' .. node) == 0 then
    local roomsKey = prefix .. ':node:' .. node .. ':rooms'
    local marker = '{"node":"' .. node .. '",'
    for _, room in ipairs(redis.call('SMEMBERS', roomsKey)) do
      local membersKey = prefix .. ':{' .. room .. '}:members'
      local entries = redis.call('HGETALL', membersKey)
      for i = 1, #entries, 2 do
        if string.sub(entries[i + 1], 1, #marker) == marker then
          redis.call('HDEL', membersKey, entries[i])
          table.insert(removed, node)
          table.insert(removed, room)
          table.insert(removed, entries[i])
        end
      end
      if redis.call('HLEN', membersKey) == 0 then
        redis.call('DEL', prefix .. ':{' .. room .. '}:seq')
      end
    end
    redis.call('DEL', roomsKey)
    redis.call('ZREM', KEYS[1], node)
  end
end
return removed
