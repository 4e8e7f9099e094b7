-- Stores an event in one resumable session's buffer (buffer.lua, prepended): the spread layout of
-- a Redis Cluster, where the room's channel, the sender's session and the recipient's may each
-- be on another master, stores a numbered event with this, one script per recipient, in the
-- recipient's slot, before publishing it (docs/clustering.md, "Resume, spread").
-- KEYS[1] the session hash, KEYS[2] its buffer
-- ARGV[1] the entry ("ROOM MESSAGE", WireFormat), ARGV[2] most events a buffer holds, ARGV[3] most
-- bytes a buffer holds
-- Returns nil when the peer is no session (it has no buffer), else {event number, 1 if the
-- session overflowed in its gap and must be added to the sorted set of those, else 0}.
local id = redis.call('XADD', KEYS[2], 'NOMKSTREAM', '0-*', 'e', ARGV[1])
if not id then
  return false
end
local load = redis.call('HINCRBY', KEYS[1], 'load', LOAD_EVENT + #ARGV[1])
local overflowed = 0
if overBounds(load, tonumber(ARGV[2]), tonumber(ARGV[3])) and keepWithinBounds(KEYS[1], KEYS[2], nil, nil,
    redis.call('HGET', KEYS[1], 'gap'), tonumber(ARGV[2]), tonumber(ARGV[3])) then
  overflowed = 1
end
return {tonumber(string.sub(id, 3)), overflowed}
