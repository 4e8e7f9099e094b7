-- Starts a resumable session, unless it exists already (register is idempotent): its hash, and
-- its buffer as an empty stream whose last id is 0-0, so that its first event is number 1 and a
-- store without MKSTREAM finds it (buffer.lua).
-- KEYS[1] the session hash, KEYS[2] its buffer, KEYS[3] the set of sessions this node owns
-- outside a gap (absent in the spread layout of a Redis Cluster, where the node adds the session
-- to it before this runs)
-- ARGV[1] token hash, ARGV[2] "s" and the token's subject, or "" for none, ARGV[3] node id,
-- ARGV[4] peer id
-- Returns 1 if the session was created, else 0.
if redis.call('HEXISTS', KEYS[1], 'tok') == 1 then
  return 0
end
redis.call('HSET', KEYS[1], 'tok', ARGV[1], 'epoch', 1, 'node', ARGV[3], 'in', 0, 'load', 0)
if ARGV[2] ~= '' then
  redis.call('HSET', KEYS[1], 'sub', string.sub(ARGV[2], 2))
end
redis.call('XGROUP', 'CREATE', KEYS[2], 'register', '$', 'MKSTREAM')
redis.call('XGROUP', 'DESTROY', KEYS[2], 'register')
if KEYS[3] then
  redis.call('SADD', KEYS[3], ARGV[4])
end
return 1
