-- Finds the nodes whose heartbeat key has expired and takes the reaping of each for this node,
-- for a lease: another janitor that runs meanwhile skips it, and if this one dies before it has
-- buried the node, the next janitor after the lease reaps it again (reaping a room twice
-- removes nothing the second time). Touches only node keys, which share one slot in cluster
-- mode; the rooms are then reaped one script each (reaproom.lua), so a reap costs in proportion
-- to the dead node's rooms, and no one script runs for long.
-- KEYS[1] the node registry (sorted set)
-- ARGV[1] the node keys' common start (a node's key is that and its id), ARGV[2] this janitor's
-- node id, ARGV[3] lease (ms), ARGV[4] most nodes to take
-- Returns a flat [node, last heartbeat (ms), room count, room, room, ...] list.
local out = {}
local taken = 0
for _, node in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if taken >= tonumber(ARGV[4]) then
    break
  end
  local key = ARGV[1] .. node
  if redis.call('EXISTS', key) == 0
      and redis.call('SET', key .. ':reaper', ARGV[2], 'NX', 'PX', ARGV[3]) then
    taken = taken + 1
    table.insert(out, node)
    table.insert(out, redis.call('ZSCORE', KEYS[1], node))
    local rooms = redis.call('SMEMBERS', key .. ':rooms')
    table.insert(out, #rooms)
    for _, room in ipairs(rooms) do
      table.insert(out, room)
    end
  end
end
return out
