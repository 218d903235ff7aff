-- handback.lua: gives an unstarted envelope back to its partition queue
-- (a draining worker or one giving a partition up). It goes to the right
-- end, where the next owner pops first, so order is kept.
-- KEYS[1] = <prefix>:{n}:inflight   KEYS[2] = <prefix>:{n}:q
-- ARGV[1] = envelope bytes
-- Returns 1 when handed back, 0 when it was no longer in flight.
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 1 then
    redis.call('RPUSH', KEYS[2], ARGV[1])
    return 1
end
return 0
