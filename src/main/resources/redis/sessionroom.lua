-- Records a room in a resumable session before its member joins there, in the spread layout of a
-- Redis Cluster, where join.lua reaches no session: a session that ended meanwhile is not
-- brought back as a hash with only this field. A room recorded for a join that then fails is
-- dropped by whatever reads it next (a claim, a suspension, an expiry finds no member there).
-- KEYS[1] the session hash
-- ARGV[1] room, ARGV[2] the member's meta
-- Returns 1 if the session exists, else 0.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
redis.call('HSET', KEYS[1], 'r:' .. ARGV[1], ARGV[2])
return 1
