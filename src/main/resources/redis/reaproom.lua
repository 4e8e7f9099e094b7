-- Deals with a dead node's members in one room: a member whose resumable session the dead node
-- owned is not removed but put in its gap (as suspend.lua does), with the window counted from the
-- node's last heartbeat; every other member is removed. Running it again finds nothing more to
-- do, so a reap that a janitor left half done can be done again. Builds the members' session keys
-- at run time, only with resume on.
-- KEYS[1] room members hash, KEYS[2] room join-order counter, KEYS[3] the sorted set of sessions
-- in their gap (only with resume on)
-- ARGV[1] the dead node's id, ARGV[2] the sessions' key start (a session's key is that, "{",
-- the peer id and "}"), ARGV[3] the gap deadline (ms), or "" with resume off, ARGV[4] only in
-- the spread layout of a Redis Cluster, where this script reaches no session: the peers, space
-- separated, whose sessions the node has put in their gap before this (orphan.lua); KEYS[3] is
-- then absent
-- Returns a flat [what, peer, ...] list, what = "left" (removed) or "reconnecting" (in its gap).
local node = ARGV[1]
local marker = '{"node":"' .. node .. '",'
local out = {}
local inGap
if ARGV[4] then
  inGap = {}
  for peer in string.gmatch(ARGV[4], '%S+') do
    inGap[peer] = true
  end
end
local entries = redis.call('HGETALL', KEYS[1])
for i = 1, #entries, 2 do
  local peer, entry = entries[i], entries[i + 1]
  if string.sub(entry, 1, #marker) == marker then
    local session = ARGV[2] .. '{' .. peer .. '}'
    if inGap and inGap[peer] then
      redis.call('HSET', KEYS[1], peer, '{"node":"-",' .. string.sub(entry, #marker + 1))
      table.insert(out, 'reconnecting')
    elseif not inGap and ARGV[3] ~= '' and redis.call('HGET', session, 'node') == node then
      redis.call('HSET', KEYS[1], peer, '{"node":"-",' .. string.sub(entry, #marker + 1))
      redis.call('HSET', session, 'gap', ARGV[3])
      redis.call('ZADD', KEYS[3], ARGV[3], peer)
      table.insert(out, 'reconnecting')
    else
      redis.call('HDEL', KEYS[1], peer)
      table.insert(out, 'left')
    end
    table.insert(out, peer)
  end
end
if redis.call('HLEN', KEYS[1]) == 0 then
  redis.call('DEL', KEYS[2])
end
return out
