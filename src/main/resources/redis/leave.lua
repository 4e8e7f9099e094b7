-- Removes one member, if this node holds it: a member that joined again on another node (same
-- peer id) is that node's now, and the old socket's leave must not remove it; nor may it remove
-- a member in its resume gap (node "-"), which only a claim or expire.lua ends. Drops the room's
-- counter with its last member, the room from the node's set once the node has no member left
-- there, and the room from the peer's session.
-- KEYS[1] room members hash, KEYS[2] room join-order counter, KEYS[3] this node's room set,
-- KEYS[4] the peer's session hash
-- ARGV[1] peer id, ARGV[2] node id, ARGV[3] room
-- Returns 1 if the peer was a member held by this node, else 0.
local marker = '{"node":"' .. ARGV[2] .. '",'
local current = redis.call('HGET', KEYS[1], ARGV[1])
local removed = 0
if current and string.sub(current, 1, #marker) == marker then
  removed = redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('HDEL', KEYS[4], 'r:' .. ARGV[3])
end
local values = redis.call('HVALS', KEYS[1])
if #values == 0 then
  redis.call('DEL', KEYS[2])
end
for _, v in ipairs(values) do
  if string.sub(v, 1, #marker) == marker then
    return removed
  end
end
redis.call('SREM', KEYS[3], ARGV[3])
return removed
