-- Takes a resumable session over for this node in one atomic step, so that of two racing
-- resumes exactly one wins: the winner replaces the token hash, and the loser's token is then
-- the previous one ("prev"), which tells it apart from a forged token. Builds the rooms' key
-- names at run time, and the previous owner's set of sessions.
-- KEYS[1] the session hash, KEYS[2] its buffer, KEYS[3] the sorted set of sessions in their gap,
-- KEYS[4] this node's room set, KEYS[5] the set of sessions this node owns outside a gap; in the
-- spread layout of a Redis Cluster only KEYS[1] and KEYS[2]: the node then updates those sets
-- and the rooms' member entries itself, after this (docs/clustering.md, "Resume, spread"), and
-- the script returns every room the session recorded, each entry or none
-- ARGV[1] key prefix, ARGV[2] peer id, ARGV[3] token hash presented, ARGV[4] "s" and the
-- subject, or "" for none, ARGV[5] the client's last processed seq, ARGV[6] the new token hash,
-- ARGV[7] node id
-- Returns {error code} on refusal, else {"ok", epoch, highest relay n accepted, gap deadline (ms)
-- or 0 when it was not in its gap, the node that owned it, room, meta, ...}.
local prefix = ARGV[1]
local peer = ARGV[2]
local s = redis.call('HMGET', KEYS[1], 'tok', 'prev', 'sub', 'over', 'in', 'node', 'gap', 'end')
-- "end": ending in its gap, in the spread layout (ended.lua).
if not s[1] or s[8] then
  return {'resume-expired'}
end
if s[1] ~= ARGV[3] then
  if s[2] == ARGV[3] then
    return {'resume-expired'}
  end
  return {'resume-refused'}
end
local subject = ''
if s[3] then
  subject = 's' .. s[3]
end
if subject ~= ARGV[4] then
  return {'resume-refused'}
end
if s[4] == '1' then
  return {'resume-lost'}
end
if redis.call('EXISTS', KEYS[2]) == 0 then
  return {'resume-lost'}
end
local last = tonumber(ARGV[5])
-- The buffer's ids are the event numbers (buffer.lua): the last one given, and the oldest kept.
local numbered = 0
local oldest
local buffer = redis.call('XINFO', 'STREAM', KEYS[2])
for i = 1, #buffer, 2 do
  if buffer[i] == 'last-generated-id' then
    numbered = tonumber(string.sub(buffer[i + 1], 3))
  elseif buffer[i] == 'first-entry' and buffer[i + 1] then
    oldest = tonumber(string.sub(buffer[i + 1][1], 3))
  end
end
if last > numbered then
  return {'bad-sequence'}
end
local lost
if oldest then
  lost = oldest > last + 1
else
  lost = numbered > last
end
local spread = not KEYS[3]
if lost then
  redis.call('HSET', KEYS[1], 'over', 1)
  if spread then
    return {'resume-lost', 'over'}
  end
  redis.call('ZADD', KEYS[3], 0, peer)
  return {'resume-lost'}
end
local epoch = redis.call('HINCRBY', KEYS[1], 'epoch', 1)
redis.call('HSET', KEYS[1], 'node', ARGV[7], 'tok', ARGV[6], 'prev', ARGV[3])
redis.call('HDEL', KEYS[1], 'gap')
local out = {'ok', epoch, tonumber(s[5]), tonumber(s[7] or '0'), s[6]}
local fields = redis.call('HGETALL', KEYS[1])
if spread then
  for i = 1, #fields, 2 do
    if string.sub(fields[i], 1, 2) == 'r:' then
      table.insert(out, string.sub(fields[i], 3))
      table.insert(out, fields[i + 1])
    end
  end
  return out
end
redis.call('ZREM', KEYS[3], peer)
redis.call('SREM', prefix .. ':node:' .. s[6] .. ':sessions', peer)
redis.call('SADD', KEYS[5], peer)
for i = 1, #fields, 2 do
  if string.sub(fields[i], 1, 2) == 'r:' then
    local room = string.sub(fields[i], 3)
    local membersKey = prefix .. ':{' .. room .. '}:members'
    local entry = redis.call('HGET', membersKey, peer)
    if entry then
      redis.call('HSET', membersKey, peer,
          '{"node":"' .. ARGV[7] .. '",' .. string.match(entry, '^{"node":"[^"]*",(.*)$'))
      redis.call('SADD', KEYS[4], room)
      table.insert(out, room)
      table.insert(out, fields[i + 1])
    else
      redis.call('HDEL', KEYS[1], fields[i])
    end
  end
end
return out
