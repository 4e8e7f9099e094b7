-- Gives one member entry of a room to another node, in the spread layout of a Redis Cluster,
-- where the session scripts reach no room: a claim gives its rooms' entries to the claiming node,
-- a suspension to "-" (in its gap), each only after the session's own script decided it.
-- KEYS[1] room members hash
-- ARGV[1] peer id, ARGV[2] the nodes the entry may name now, space separated, ARGV[3] the node it
-- gets
-- Returns 1 if the entry was given, 0 if the peer is no member, 2 if another node holds it.
local entry = redis.call('HGET', KEYS[1], ARGV[1])
if not entry then
  return 0
end
local holder, rest = string.match(entry, '^{"node":"([^"]*)",(.*)$')
if not string.find(' ' .. ARGV[2] .. ' ', ' ' .. holder .. ' ', 1, true) then
  return 2
end
redis.call('HSET', KEYS[1], ARGV[1], '{"node":"' .. ARGV[3] .. '",' .. rest)
return 1
