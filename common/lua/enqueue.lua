-- enqueue.lua: dedupe + LPUSH as one atomic step (guarantee G2).
-- A crash can never leave the dedupe marker set and the event missing,
-- because both writes happen inside one script.
-- KEYS[1] = <prefix>:{n}:seen:<event_id>   KEYS[2] = <prefix>:{n}:q
-- ARGV[1] = dedupe TTL in seconds          ARGV[2] = envelope JSON
-- Returns 1 when enqueued, 0 when the event id was already seen.
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
    redis.call('LPUSH', KEYS[2], ARGV[2])
    return 1
end
return 0
