-- Removes one member, if this node holds it: a member that joined again on another node (same
-- peer id) is that node's now, and the old socket's leave must not remove it; nor may it remove
-- a member in its resume gap (node "-"), which only a claim or expire.lua ends. Drops the room's
-- counter with its last member, and the room from the peer's session. (The node takes the room
-- out of its own room set afterwards: Membership.)
-- KEYS[1] room members hash, KEYS[2] room join-order counter, KEYS[3] the peer's session hash
-- (only with resume on)
-- ARGV[1] peer id, ARGV[2] node id, or "" to remove the member whoever holds it (a session
-- that ended in its gap, in the spread layout of a Redis Cluster), ARGV[3] room
-- Returns 1 if the peer was a member held by this node, else 0.
local marker = '{"node":"' .. ARGV[2] .. '",'
local current = redis.call('HGET', KEYS[1], ARGV[1])
local removed = 0
if current and (ARGV[2] == '' or string.sub(current, 1, #marker) == marker) then
  removed = redis.call('HDEL', KEYS[1], ARGV[1])
  if KEYS[3] then
    redis.call('HDEL', KEYS[3], 'r:' .. ARGV[3])
  end
end
if redis.call('HLEN', KEYS[1]) == 0 then
  redis.call('DEL', KEYS[2])
end
return removed
