-- A node stopping cleanly: removes its heartbeat and, unless it still has members somewhere,
-- its registry entry. Members left behind (a leave that failed) and resumable sessions it still
-- owns outside a gap (neither suspended nor forgotten) keep the entry, so another node's reaper, finding the heartbeat gone, deals with them.
-- KEYS[1] this node's heartbeat key, KEYS[2] this node's room set, KEYS[3] the node registry,
-- KEYS[4] the set of sessions this node owns outside a gap
-- ARGV[1] node id
-- Returns 1 if the node left nothing behind, else 0.
redis.call('DEL', KEYS[1])
if redis.call('EXISTS', KEYS[2]) == 1 or redis.call('EXISTS', KEYS[4]) == 1 then
  return 0
end
redis.call('ZREM', KEYS[3], ARGV[1])
return 1
