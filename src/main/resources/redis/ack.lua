-- The client processed every event up to a number: drops those from the session's buffer.
-- KEYS[1] the session hash, KEYS[2] its buffer
-- ARGV[1] the number acknowledged
-- Returns the bytes dropped.
local acked = tonumber(ARGV[1])
local dropped = 0
while true do
  local oldest = redis.call('LINDEX', KEYS[2], 0)
  if not oldest or tonumber(string.match(oldest, '^(%d+) ')) > acked then
    break
  end
  redis.call('LPOP', KEYS[2])
  dropped = dropped + #oldest
end
if dropped > 0 then
  redis.call('HINCRBY', KEYS[1], 'bytes', -dropped)
end
return dropped
