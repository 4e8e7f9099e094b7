-- Ends one session whose gap passed its deadline, or that overflowed, in the spread layout of a
-- Redis Cluster, where expire.lua's single step is split: the node reads the sorted set of
-- sessions in their gap, runs this in each session's slot (atomic there, so of two nodes that
-- run it one ends the session, and a claim either comes first and keeps it or finds it gone),
-- then removes the ended session's members from its rooms.
-- KEYS[1] the session hash
-- ARGV[1] now (ms)
-- The session is not deleted here but marked as ending ("end"), which refuses any claim: a node
-- that dies before it has removed the members and deleted the session leaves it for the next
-- expire, which finds it still there and ends it again.
-- Returns {} when the session is gone or out of its gap, {"later", deadline} when its gap has
-- not passed yet, else {reason, owner, room, room, ...}, reason = "expired" or "overflow".
local s = redis.call('HMGET', KEYS[1], 'gap', 'over', 'node', 'end')
local reason = s[4]
if not reason then
  if s[2] == '1' then
    reason = 'overflow'
  elseif not s[1] then
    return {}
  elseif tonumber(s[1]) > tonumber(ARGV[1]) then
    return {'later', s[1]}
  else
    reason = 'expired'
  end
  redis.call('HSET', KEYS[1], 'end', reason)
end
local out = {reason, s[3] or ''}
for _, field in ipairs(redis.call('HKEYS', KEYS[1])) do
  if string.sub(field, 1, 2) == 'r:' then
    table.insert(out, string.sub(field, 3))
  end
end
return out
