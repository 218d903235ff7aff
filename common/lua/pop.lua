-- pop.lua: move up to ARGV[1] envelopes from a partition's queue to its
-- in-flight list, oldest first (reliable-queue pattern, G3). Each move is
-- one LMOVE, so an envelope is always in exactly one of the two lists.
-- KEYS[1] = <prefix>:{n}:q   KEYS[2] = <prefix>:{n}:inflight
-- Returns the moved envelopes.
local out = {}
for i = 1, tonumber(ARGV[1]) do
    local v = redis.call('LMOVE', KEYS[1], KEYS[2], 'RIGHT', 'LEFT')
    if not v then
        break
    end
    out[#out + 1] = v
end
return out
