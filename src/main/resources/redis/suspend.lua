-- A resumable session's socket is gone: keeps it a member of its rooms in its gap, if this node
-- still owns it at the given epoch (a claim elsewhere may have taken it meanwhile). Its member
-- entries get node "-", so that nothing this node does later (leave, deregister, being reaped)
-- removes them; only a claim or expire.lua does. Builds the rooms' key names at run time.
-- (The node takes rooms where it holds no member any more out of its room set: Membership.)
-- KEYS[1] the session hash, KEYS[2] the sorted set of sessions in their gap, KEYS[3] the set of
-- sessions this node owns outside a gap; in the spread layout of a Redis Cluster only KEYS[1]:
-- the node then updates those sets and the rooms' member entries itself (docs/clustering.md,
-- "Resume, spread"), and the script returns "gap" and every room the session recorded
-- ARGV[1] key prefix, ARGV[2] peer id, ARGV[3] epoch, ARGV[4] node id, ARGV[5] deadline (ms)
-- Returns the session's rooms, or an empty list when the epoch or the node did not match.
local prefix = ARGV[1]
local peer = ARGV[2]
local session = redis.call('HMGET', KEYS[1], 'epoch', 'node')
if session[1] ~= ARGV[3] or session[2] ~= ARGV[4] then
  return {}
end
redis.call('HSET', KEYS[1], 'gap', ARGV[5])
local rooms = {}
if not KEYS[2] then
  rooms[1] = 'gap'
  for _, field in ipairs(redis.call('HKEYS', KEYS[1])) do
    if string.sub(field, 1, 2) == 'r:' then
      table.insert(rooms, string.sub(field, 3))
    end
  end
  return rooms
end
redis.call('ZADD', KEYS[2], ARGV[5], peer)
-- In its gap the sorted set ends it; the node's own set is for what nothing else would end.
redis.call('SREM', KEYS[3], peer)
for _, field in ipairs(redis.call('HKEYS', KEYS[1])) do
  if string.sub(field, 1, 2) == 'r:' then
    local room = string.sub(field, 3)
    local membersKey = prefix .. ':{' .. room .. '}:members'
    local entry = redis.call('HGET', membersKey, peer)
    if entry then
      redis.call('HSET', membersKey, peer, '{"node":"-",' .. string.match(entry, '^{"node":"[^"]*",(.*)$'))
      table.insert(rooms, room)
    else
      redis.call('HDEL', KEYS[1], field)
    end
  end
end
return rooms
