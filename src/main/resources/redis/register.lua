-- Starts a resumable session, unless it exists already (register is idempotent).
-- KEYS[1] the session hash, KEYS[2] the set of sessions this node owns outside a gap
-- ARGV[1] token hash, ARGV[2] "s" and the token's subject, or "" for none, ARGV[3] node id,
-- ARGV[4] peer id
-- Returns 1 if the session was created, else 0.
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('HSET', KEYS[1], 'tok', ARGV[1], 'epoch', 1, 'node', ARGV[3], 'seq', 0, 'in', 0, 'bytes', 0)
if ARGV[2] ~= '' then
  redis.call('HSET', KEYS[1], 'sub', string.sub(ARGV[2], 2))
end
redis.call('SADD', KEYS[2], ARGV[4])
return 1
