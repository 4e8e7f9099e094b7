-- Shared by the scripts that store events in a session's buffer: a stream whose entry ids 0-N
-- are the session's event numbers (XADD with id 0-* gives the next one). A session's "load"
-- packs the buffer's count and bytes into one integer, count * LOAD_EVENT + bytes, so that one
-- HINCRBY adds an event to both: the node that stores an event without a script
-- (docs/clustering.md, "Resumable sessions") reads both bounds from its reply.
local LOAD_EVENT = 4294967296

local function overBounds(load, maxEvents, maxBytes)
  return load >= (maxEvents + 1) * LOAD_EVENT or load % LOAD_EVENT > maxBytes
end

-- Brings a buffer back within its bounds by dropping its oldest entries, but never the newest:
-- dropping the event just stored would lose it without anyone noticing. Acks take entries out
-- of the count without knowing their bytes, so a load's bytes only ever overstate the buffer's:
-- they are counted again here, exactly. A session in its gap that loses an entry can no longer
-- get every event: the next expire ends it. Without the sorted set of sessions in their gap (the
-- spread layout of a Redis Cluster keeps it on another master), the caller adds such a session
-- there itself: returns whether it must.
local function keepWithinBounds(session, buffer, gaps, peer, gap, maxEvents, maxBytes)
  local entries = redis.call('XRANGE', buffer, '-', '+')
  local count = #entries
  local bytes = 0
  for _, entry in ipairs(entries) do
    bytes = bytes + #entry[2][2]
  end
  local dropped = 0
  while count - dropped > 1 and (count - dropped > maxEvents or bytes > maxBytes) do
    dropped = dropped + 1
    bytes = bytes - #entries[dropped][2][2]
    redis.call('XDEL', buffer, entries[dropped][1])
  end
  redis.call('HSET', session, 'load', (count - dropped) * LOAD_EVENT + bytes)
  if dropped > 0 and gap then
    redis.call('HSET', session, 'over', 1)
    if not gaps then
      return true
    end
    redis.call('ZADD', gaps, 0, peer)
  end
  return false
end
