-- Publishes a room event with resume on, in one atomic step: drops a retransmitted relay, numbers
-- the event for each recipient that is a resumable session and stores it in that session's
-- buffer (buffer.lua, prepended: bounded, the oldest entries go first), then publishes it on the
-- room's channel with those numbers. Storing before publishing, atomically, is what lets an
-- event outlive the node that sends it. Builds the recipients' session keys at run time.
-- KEYS[1] room members hash, KEYS[2] room channel, KEYS[3] the sorted set of sessions in their gap
-- ARGV[1] key prefix, ARGV[2] the event's subject (never a recipient; "" for none),
-- ARGV[3] the relay's sender number n (0 for none), ARGV[4] the one recipient ("" for the room),
-- ARGV[5] the message's header line without its seq list and newline, ARGV[6] the body,
-- ARGV[7] room, ARGV[8] most events a buffer holds, ARGV[9] most bytes a buffer holds,
-- ARGV[10], given only with REDIS_WAIT_REPLICAS: "0" to store the event without publishing it (its
-- node publishes it once a replica has it, so that nobody hears an event a failover may still
-- lose), "1" to publish it here too
-- Returns "dup" for a retransmission (nothing stored or published), else the seq list.
local prefix = ARGV[1]
local subject = ARGV[2]
-- Numbers stay in the text Redis gave them wherever they are only passed on: each conversion
-- between text and a Lua number is a strtod or a printf, a good part of this script's cost.
local senderSeq = ARGV[3]
if senderSeq ~= '0' and subject ~= '' then
  local sender = prefix .. ':resume:{' .. subject .. '}'
  local accepted = redis.call('HGET', sender, 'in')
  if accepted then
    if tonumber(senderSeq) <= tonumber(accepted) then
      -- Rewritten unchanged: a WAIT waits for the replicas to reach its connection's last write,
      -- and this one comes after the first copy, which may have been written on another.
      redis.call('HSET', sender, 'in', accepted)
      return 'dup'
    end
    redis.call('HSET', sender, 'in', senderSeq)
  end
end
local recipients
if ARGV[4] ~= '' then
  recipients = {ARGV[4]}
else
  recipients = redis.call('HKEYS', KEYS[1])
end
-- Built for the first recipient that is a session: most events have none.
local stored
local seqs = {}
for _, peer in ipairs(recipients) do
  -- Only an id whose first bit is set can be a session's (PeerId.resumable). A session's buffer
  -- exists from its registration to its end: XADD without MKSTREAM stores only for a peer that
  -- is a session, and says which it is.
  if peer ~= subject and string.find(peer, '^[g-z0-9_%-]') then
    stored = stored or (ARGV[7] .. ' ' .. ARGV[5] .. ' -\n' .. ARGV[6])
    local session = prefix .. ':resume:{' .. peer .. '}'
    local buffer = session .. ':stream'
    local id = redis.call('XADD', buffer, 'NOMKSTREAM', '0-*', 'e', stored)
    if id then
      local load = redis.call('HINCRBY', session, 'load', LOAD_EVENT + #stored)
      if overBounds(load, tonumber(ARGV[8]), tonumber(ARGV[9])) then
        keepWithinBounds(session, buffer, KEYS[3], peer, redis.call('HGET', session, 'gap'), tonumber(ARGV[8]),
            tonumber(ARGV[9]))
      end
      seqs[#seqs + 1] = peer .. ':' .. string.sub(id, 3)
    end
  end
end
local list = '-'
if #seqs > 0 then
  list = table.concat(seqs, ',')
end
if ARGV[10] ~= '0' then
  redis.call('PUBLISH', KEYS[2], ARGV[5] .. ' ' .. list .. '\n' .. ARGV[6])
end
return list
