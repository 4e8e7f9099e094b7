-- The last step of reaping a dead node, once each of its rooms is reaped: its sessions in no room
-- (or in none of its rooms any more) get their gap too, or nothing would ever end them (with
-- resume off, nothing can resume them, so they go now), and the node leaves the registry with its
-- sets and its reaper's lease. Builds the sessions' key names at run time.
-- KEYS[1] the node registry, KEYS[2] the node's room set, KEYS[3] the node's session set,
-- KEYS[4] its reaper's lease, KEYS[5] the sorted set of sessions in their gap
-- ARGV[1] the node's id, ARGV[2] the sessions' key start, or "" in the spread layout of a Redis
-- Cluster, where the node has given the sessions their gap itself before this, ARGV[3] the gap
-- deadline (ms), or "" with resume off
-- Returns 1.
for _, peer in ipairs(ARGV[2] ~= '' and redis.call('SMEMBERS', KEYS[3]) or {}) do
  local session = ARGV[2] .. '{' .. peer .. '}'
  local s = redis.call('HMGET', session, 'node', 'gap')
  if s[1] == ARGV[1] and not s[2] then
    if ARGV[3] ~= '' then
      redis.call('HSET', session, 'gap', ARGV[3])
      redis.call('ZADD', KEYS[5], ARGV[3], peer)
    else
      redis.call('DEL', session, session .. ':stream')
    end
  end
end
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4])
redis.call('ZREM', KEYS[1], ARGV[1])
return 1
