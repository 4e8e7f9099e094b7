-- Publishes a room event with resume on, in one atomic step: drops a retransmitted relay, numbers
-- the event for each recipient that is a resumable session and stores it in that session's
-- buffer (bounded: the oldest entries go first), then publishes it on the room's channel with
-- those numbers. Storing before publishing, atomically, is what lets an event outlive the node
-- that sends it. Builds the recipients' session keys at run time.
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
  local sender = prefix .. ':session:{' .. subject .. '}'
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
  local session = prefix .. ':session:{' .. peer .. '}'
  -- One read tells whether the peer is a session, and gives what the store below updates.
  local state = peer ~= subject and redis.call('HMGET', session, 'seq', 'bytes', 'gap', 'loose')
  if state and state[1] then
    local seq = tostring(tonumber(state[1]) + 1)
    stored = stored or (' ' .. ARGV[7] .. ' ' .. ARGV[5] .. ' -\n' .. ARGV[6])
    local entry = seq .. stored
    local buffer = session .. ':events'
    local length = redis.call('RPUSH', buffer, entry)
    local maxEvents = tonumber(ARGV[8])
    local maxBytes = tonumber(ARGV[9])
    local bytes = tonumber(state[2]) + #entry
    local loose = state[4] == '1'
    if bytes > maxBytes and loose then
      -- Acks drop entries without counting their bytes ("loose"), so the count only ever
      -- overstates the buffer: it is counted again only when it seems to be over the bound.
      bytes = 0
      loose = false
      for _, kept in ipairs(redis.call('LRANGE', buffer, 0, -1)) do
        bytes = bytes + #kept
      end
    end
    local dropped = false
    -- The newest entry stays even when it alone is over the byte bound: dropping the event
    -- being stored would lose it without anyone noticing.
    while length > 1 and (length > maxEvents or bytes > maxBytes) do
      bytes = bytes - #redis.call('LPOP', buffer)
      length = length - 1
      dropped = true
    end
    redis.call('HSET', session, 'seq', seq, 'bytes', bytes, 'loose', loose and '1' or '0')
    if dropped and state[3] then
      -- Its client can no longer get every event: the next expire.lua ends the session.
      redis.call('HSET', session, 'over', 1)
      redis.call('ZADD', KEYS[3], 0, peer)
    end
    seqs[#seqs + 1] = peer .. ':' .. seq
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
