-- bench/wrk_post.lua: wrk script for bench/run.sh. Every request is a
-- distinct, correctly signed Messenger webhook POST, so ingest's dedupe
-- never turns load into duplicates.
--
--   wrk -t2 -c64 -d10s --latency -s bench/wrk_post.lua URL -- \
--       EVENTS RUNTAG [SECRET] [PAGE_ID]
--
-- EVENTS: messaging events per body (1 = single text message; 10 = ten
-- events in one entry). RUNTAG: makes mids unique across wrk runs against
-- the same Redis. The signature is HMAC-SHA256 computed through LuaJIT FFI
-- with libcrypto's one-shot HMAC(). done() prints one parseable line:
--   HL_BENCH requests=N ok=N sent=N duration_us=N errors=N p50_us=N ...
-- It does not check answers beyond wrk's own non-2xx count.

local ffi = require("ffi")

ffi.cdef [[
typedef struct evp_md_st EVP_MD;
const EVP_MD *EVP_sha256(void);
unsigned char *HMAC(const EVP_MD *evp_md, const void *key, int key_len,
                    const unsigned char *d, size_t n, unsigned char *md,
                    unsigned int *md_len);
]]

-- libcrypto.so comes with libssl-dev; wrk itself links libcrypto.so.3, so
-- the process namespace is the last resort.
local function load_crypto()
    for _, name in ipairs({ "crypto", "libcrypto.so.3" }) do
        local ok, lib = pcall(ffi.load, name)
        if ok then
            return lib
        end
    end
    return ffi.C
end

local crypto = load_crypto()
local md = ffi.new("unsigned char[32]")
local mdlen = ffi.new("unsigned int[1]")
local hexdigits = {}
for i = 0, 255 do
    hexdigits[i] = string.format("%02x", i)
end

local function sign(key, body)
    local hexparts = {}
    local r = crypto.HMAC(crypto.EVP_sha256(), key, #key, body, #body, md,
                          mdlen)
    if r == nil or mdlen[0] ~= 32 then
        error("HMAC failed")
    end
    for i = 0, 31 do
        hexparts[i + 1] = hexdigits[md[i]]
    end
    return "sha256=" .. table.concat(hexparts)
end

-- ---------------------------------------------------------------------
-- Main state: number the threads and collect them for done().
-- ---------------------------------------------------------------------

local threads = {}
local nthreads = 0

function setup(thread)
    nthreads = nthreads + 1
    thread:set("tid", nthreads)
    threads[nthreads] = thread
end

-- ---------------------------------------------------------------------
-- Thread state: one request() per request.
-- ---------------------------------------------------------------------

local events, runtag, secret, page
local counter = 0
local ts0 = 0
sent = 0

function init(args)
    events = tonumber(args[1] or "1") or 1
    runtag = args[2] or tostring(os.time())
    secret = args[3] or "d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0"
    page = args[4] or "1000000000000001"
    ts0 = os.time() * 1000
end

local function one_event(n, i)
    -- 997 senders per thread spread the conversations over partitions.
    local user = string.format("%d%06d", tid or 0, n % 997)
    local mid = string.format("m_%s_%d_%d_%d", runtag, tid or 0, n, i)
    return string.format(
        '{"sender":{"id":"%s"},"recipient":{"id":"%s"},"timestamp":%d,' ..
        '"message":{"mid":"%s","text":"bench message %d"}}',
        user, page, ts0 + n, mid, i)
end

function request()
    local parts = {}
    counter = counter + 1
    for i = 1, events do
        parts[i] = one_event(counter, i)
    end
    local body = string.format(
        '{"object":"page","entry":[{"id":"%s","time":%d,"messaging":[%s]}]}',
        page, ts0 + counter, table.concat(parts, ","))
    sent = sent + 1
    return wrk.format("POST", wrk.path, {
        ["Content-Type"] = "application/json",
        ["X-Hub-Signature-256"] = sign(secret, body),
    }, body)
end

-- ---------------------------------------------------------------------
-- Summary (main state).
-- ---------------------------------------------------------------------

function done(summary, latency, requests)
    local total_sent = 0
    for _, t in ipairs(threads) do
        total_sent = total_sent + (tonumber(t:get("sent")) or 0)
    end
    local e = summary.errors
    io.write(string.format(
        "HL_BENCH requests=%d ok=%d sent=%d duration_us=%d errors=%d " ..
        "timeouts=%d non2xx=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d\n",
        summary.requests, summary.requests - e.status, total_sent,
        summary.duration, e.connect + e.read + e.write + e.timeout,
        e.timeout, e.status, latency:percentile(50), latency:percentile(90),
        latency:percentile(99), latency.max))
end
