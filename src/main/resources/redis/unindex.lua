-- Takes a session out of the sorted set of sessions in their gap, in the spread layout of a Redis
-- Cluster, only if its score is still the one the caller read: a node that suspended the session
-- since has put it back with a new deadline first, and that entry must stay.
-- KEYS[1] the sorted set of sessions in their gap
-- ARGV[1] peer id, ARGV[2] the score read
-- Returns 1 if the session was taken out, else 0.
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) == tonumber(ARGV[2]) then
  return redis.call('ZREM', KEYS[1], ARGV[1])
end
return 0
