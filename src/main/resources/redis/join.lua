-- Atomic join: capacity check + add + roster in one step, so nodes racing for the last seat of a
-- room can never overfill it. A resumable session records its meta there, so that a resume on
-- another node gets its rooms back. This node's room set is not touched here: the node adds the
-- room to it before the join (Membership), which keeps every key this script names in the room's
-- slot apart from the session's.
-- KEYS[1] room members hash, KEYS[2] room join-order counter, KEYS[3] the peer's session hash
-- (only with resume on; it exists only for a resumable peer)
-- ARGV[1] peer id, ARGV[2] node id, ARGV[3] meta (raw JSON object), ARGV[4] max peers, ARGV[5] room
-- Returns nil when the room is full, else the members before the join as a flat
-- [peer, value, peer, value, ...] list (value = {"node":..,"seq":..,"meta":..}).
local rejoin = redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1
if not rejoin and redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[4]) then
  return false
end
local before = redis.call('HGETALL', KEYS[1])
local seq = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], ARGV[1], '{"node":"' .. ARGV[2] .. '","seq":' .. seq .. ',"meta":' .. ARGV[3] .. '}')
if KEYS[3] and redis.call('EXISTS', KEYS[3]) == 1 then
  redis.call('HSET', KEYS[3], 'r:' .. ARGV[5], ARGV[3])
end
return before
