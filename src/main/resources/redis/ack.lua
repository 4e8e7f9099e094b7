-- The client processed every event up to a number: drops those from the session's buffer.
-- The buffer holds consecutive numbers ending at the session's seq (publish.lua appends the
-- next number, and entries only ever leave from the head), so how many to drop follows from
-- its length alone, and they go in one LTRIM without being read. Their bytes are not counted:
-- the session's byte count is marked loose (an overstatement), and publish.lua counts again
-- when it seems to pass the bound.
-- KEYS[1] the session hash, KEYS[2] its buffer
-- ARGV[1] the number acknowledged
-- Returns how many events were dropped.
local seq = redis.call('HGET', KEYS[1], 'seq')
if not seq then
  return 0
end
local length = redis.call('LLEN', KEYS[2])
-- The head's number is seq - length + 1; everything up to the acknowledged one goes.
local drop = math.min(tonumber(ARGV[1]) - tonumber(seq) + length, length)
if drop <= 0 then
  return 0
end
redis.call('LTRIM', KEYS[2], drop, -1)
redis.call('HSET', KEYS[1], 'loose', 1)
return drop
