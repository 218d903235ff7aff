-- lease.lua: acquire, renew or release a partition lease (G3b).
-- A lease's value is its owner's worker id; renewal is compare-and-expire,
-- so a worker that lost its lease (expired, taken) can never extend or
-- delete someone else's.
-- KEYS[1] = <prefix>:{n}:lease
-- ARGV[1] = "acquire" | "renew" | "release"   ARGV[2] = worker id
-- ARGV[3] = lease time in ms (acquire, renew)
-- Returns 1 when this worker holds (or, for release, held) the lease.
local op, me = ARGV[1], ARGV[2]
if op == 'acquire' then
    if redis.call('SET', KEYS[1], me, 'NX', 'PX', ARGV[3]) then
        return 1
    end
    if redis.call('GET', KEYS[1]) == me then
        redis.call('PEXPIRE', KEYS[1], ARGV[3])
        return 1
    end
    return 0
end
if redis.call('GET', KEYS[1]) ~= me then
    return 0
end
if op == 'renew' then
    redis.call('PEXPIRE', KEYS[1], ARGV[3])
else
    redis.call('DEL', KEYS[1])
end
return 1
