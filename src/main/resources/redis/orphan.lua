-- A dead node's resumable session goes into its gap, in the spread layout of a Redis Cluster,
-- where the reaper's room and node scripts reach no session: the node adds it to the sorted set
-- of sessions in their gap first, runs this, then rewrites its member entries (reaproom.lua).
-- KEYS[1] the session hash
-- ARGV[1] the dead node's id, ARGV[2] the gap deadline (ms)
-- Returns 1 if the dead node still owned the session (now in its gap, if it was not already),
-- else 0.
local s = redis.call('HMGET', KEYS[1], 'node', 'gap')
if s[1] ~= ARGV[1] then
  return 0
end
if not s[2] then
  redis.call('HSET', KEYS[1], 'gap', ARGV[2])
end
return 1
