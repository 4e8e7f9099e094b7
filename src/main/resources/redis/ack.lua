-- The client processed every event up to a number: drops those from the session's buffer, in
-- one XTRIM that reads none of them. Their bytes stay in the session's load (buffer.lua), which
-- then overstates the buffer until it is counted again.
-- KEYS[1] the session hash, KEYS[2] its buffer
-- ARGV[1] the number acknowledged
-- Returns how many events were dropped.
local dropped = redis.call('XTRIM', KEYS[2], 'MINID', '0-' .. (tonumber(ARGV[1]) + 1))
if dropped > 0 then
  redis.call('HINCRBY', KEYS[1], 'load', -dropped * 4294967296)
end
return dropped
