-- A resumable session ended for good (a clean close): forgets it and its buffer, unless a claim
-- took it over since (its epoch moved on). Builds its owner's set of sessions at run time.
-- KEYS[1] the session hash, KEYS[2] its buffer, KEYS[3] the sorted set of sessions in their gap
-- (absent in the spread layout of a Redis Cluster: the node then takes the session out of both
-- sets itself, after this)
-- ARGV[1] epoch, ARGV[2] peer id, ARGV[3] key prefix
-- Returns the session's owner if it was forgotten, else nil.
if redis.call('HGET', KEYS[1], 'epoch') ~= ARGV[1] then
  return false
end
local owner = redis.call('HGET', KEYS[1], 'node')
redis.call('DEL', KEYS[1], KEYS[2])
if not KEYS[3] then
  return owner
end
redis.call('SREM', ARGV[3] .. ':node:' .. owner .. ':sessions', ARGV[2])
redis.call('ZREM', KEYS[3], ARGV[2])
return owner
