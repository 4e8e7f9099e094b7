-- A node stored an event with plain commands and its reply put the buffer over a bound: brings
-- it back within them (buffer.lua, prepended).
-- KEYS[1] the session hash, KEYS[2] its buffer, KEYS[3] the sorted set of sessions in their gap
-- (absent in the spread layout of a Redis Cluster, where it is on another master)
-- ARGV[1] peer id, ARGV[2] most events a buffer holds, ARGV[3] most bytes a buffer holds
-- Returns 2 if, without KEYS[3], a session in its gap overflowed and the node must add it to the
-- sorted set with score 0, else 1.
local state = redis.call('HMGET', KEYS[1], 'load', 'gap')
if state[1] and overBounds(tonumber(state[1]), tonumber(ARGV[2]), tonumber(ARGV[3]))
    and keepWithinBounds(KEYS[1], KEYS[2], KEYS[3], ARGV[1], state[2], tonumber(ARGV[2]), tonumber(ARGV[3])) then
  return 2
end
return 1
