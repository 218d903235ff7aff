-- finish.lua: the ack of one processed event. Records the conversation's
-- last processed timestamp and, for user-originated events, the last user
-- message time (the 24 h window), then removes the envelope from the
-- in-flight list. Both in one step, after every effect was recorded.
-- KEYS[1] = <prefix>:{n}:inflight   KEYS[2] = <prefix>:{n}:conv:<page>:<user>
-- ARGV[1] = envelope bytes   ARGV[2] = event ts (ms)
-- ARGV[3] = user message ts (ms) or "" when the event is not from the user
-- ARGV[4] = conversation hash TTL (s)
-- ARGV[5] = field name of the last processed ts
-- ARGV[6] = field name of the last user message ts
-- Returns the number of envelopes removed (0: already acked elsewhere).
local last = tonumber(redis.call('HGET', KEYS[2], ARGV[5]) or '0')
if tonumber(ARGV[2]) > last then
    redis.call('HSET', KEYS[2], ARGV[5], ARGV[2])
end
if ARGV[3] ~= '' then
    local lu = tonumber(redis.call('HGET', KEYS[2], ARGV[6]) or '0')
    if tonumber(ARGV[3]) > lu then
        redis.call('HSET', KEYS[2], ARGV[6], ARGV[3])
    end
end
redis.call('EXPIRE', KEYS[2], ARGV[4])
return redis.call('LREM', KEYS[1], 1, ARGV[1])
