-- After a Redis outage: puts back one member this node still holds, unless it is already there.
-- Capacity is not checked: the member was admitted before the outage. (The node puts the room
-- back in its room set first: Membership.)
-- KEYS[1] room members hash, KEYS[2] room join-order counter
-- ARGV[1] peer id, ARGV[2] node id, ARGV[3] meta
-- Returns 1 if the member had to be re-added (others must hear peer-joined again), else 0.
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  return 0
end
local seq = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], ARGV[1], '{"node":"' .. ARGV[2] .. '","seq":' .. seq .. ',"meta":' .. ARGV[3] .. '}')
return 1
