/**
 * The Lua scripts behind `RedisStreamsEngine`. Each runs atomically in Redis, so "append to history and
 * publish" is one step, and a read sees the log, its bounds and its newest offset at one instant.
 *
 * Keys (all under the engine's key prefix, so they share a hash slot when the prefix has a hash tag):
 * - KEYS[1] `<prefix>log`: a hash describing the log: `epoch`, `last` (newest offset, 0 when none),
 *   `first` (oldest offset still in history), `bytes` (cumulative size of every update of the epoch) and
 *   `time` (the newest update's time, so times never decrease along the log).
 * - KEYS[2] `<prefix>stream`: the stream. Entry IDs are `<offset>-0`, so an offset is its own stream
 *   position: reading after an offset is `XRANGE (<offset>-0 +` and following is `XREAD ... <offset>-0`.
 *   Fields, always the same and in this order (so the listpack stores their names once per node):
 *   `e` epoch, `t` time (ms), `b` cumulative bytes before this update, `i` the publisher's ID ('' when
 *   generated), `p` topics (JSON array), `d` data, `m` event/retry/private as JSON ('' when none).
 * - KEYS[3] `<prefix>ids`: a sorted set of publisher-given IDs scored by offset. A reused ID keeps its
 *   EARLIEST offset (ZADD NX; Mercure §7: a shared `Last-Event-ID` resolves to the earliest update with it,
 *   and replay sends everything after it, later copies included). An ID scored below `first` was trimmed:
 *   `expired`, even while a later copy is kept (the subscriber may have meant the trimmed one). The set keeps the newest
 *   `maxCount + 10,000` IDs (every ID in history and the 10,000 last trimmed, as the memory engine
 *   remembers), so it stays bounded.
 *
 * Every script begins with `open_log`, which creates the log with the caller's candidate epoch when it
 * does not exist (SET NX semantics: the first caller wins), and starts a new epoch when the log can no
 * longer be vouched for: its hash is gone (FLUSHALL, a restart without persistence), its stream is gone
 * while the hash says updates were stored, or it holds fewer updates than the caller has already seen in
 * this epoch (a restart from a stale snapshot): offsets would otherwise be handed out twice.
 */

const OPEN_LOG = `
local function int(n) return string.format('%d', n) end

local function open_log(candidate, knownEpoch, knownLast)
  local h = redis.call('HMGET', KEYS[1], 'epoch', 'last', 'first', 'bytes', 'time')
  local epoch = h[1]
  local last = tonumber(h[2])
  local lost = false
  if not epoch or not last then
    lost = true
  elseif last > 0 and redis.call('EXISTS', KEYS[2]) == 0 then
    lost = true
  elseif epoch == knownEpoch and last < tonumber(knownLast) then
    lost = true
  end
  if lost then
    redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
    redis.call('HSET', KEYS[1], 'epoch', candidate, 'last', 0, 'first', 1, 'bytes', 0, 'time', 0)
    return candidate, 0, 1, 0, 0
  end
  return epoch, last, tonumber(h[3]), tonumber(h[4]), tonumber(h[5])
end
`;

/**
 * Appends one update. ARGV: candidate epoch, known epoch, known last offset, now (ms, the publishing
 * node's clock), deadline (ms, Redis' clock), maxCount, maxBytes, maxAgeMs, the update's size, the
 * publisher's ID ('' for a generated one), topics JSON, data, meta JSON.
 * Returns { epoch, offset, time }.
 *
 * The deadline makes a publish that reaches Redis too late (Redis was paused, the client already gave up
 * and rejected) fail here instead of being stored behind the publisher's back.
 */
export const PUBLISH = `${OPEN_LOG}
local clock = redis.call('TIME')
local redisNow = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
if redisNow > tonumber(ARGV[5]) then
  return redis.error_reply('CRIER_DEADLINE the publish reached Redis after its deadline and was not stored')
end
local epoch, last, first, bytes, time = open_log(ARGV[1], ARGV[2], ARGV[3])
local offset = last + 1
local now = math.max(tonumber(ARGV[4]), time)
local before = bytes
bytes = bytes + tonumber(ARGV[9])
redis.call('XADD', KEYS[2], int(offset) .. '-0', 'e', epoch, 't', int(now), 'b', int(before),
  'i', ARGV[10], 'p', ARGV[11], 'd', ARGV[12], 'm', ARGV[13])
if ARGV[10] ~= '' then
  redis.call('ZADD', KEYS[3], 'NX', offset, ARGV[10])
  -- Keep the newest maxCount + 10,000 IDs: every ID in history and at least 10,000 trimmed ones.
  if redis.call('ZCARD', KEYS[3]) > tonumber(ARGV[6]) + 10000 then
    redis.call('ZREMRANGEBYRANK', KEYS[3], 0, int(-(tonumber(ARGV[6]) + 10001)))
  end
end

-- Retention: move 'first' past every update beyond a bound (count, bytes, age), never past the newest.
-- 'first' only moves forward, so this costs about one entry looked at per publish.
local maxCount, maxBytes = tonumber(ARGV[6]), tonumber(ARGV[7])
local cutoff = now - tonumber(ARGV[8])
local newFirst = first
local batch = 2
local done = false
-- At most 2,048 updates are looked at per publish, so a backlog (all of history aged out after a quiet
-- hour) is trimmed over the next publishes instead of blocking Redis; reads apply count and age exactly.
local budget = 2048
while not done and newFirst < offset and budget > 0 do
  local entries = redis.call('XRANGE', KEYS[2], int(newFirst) .. '-0', '+', 'COUNT', math.min(batch, budget))
  if #entries == 0 then break end
  for _, entry in ipairs(entries) do
    local o = tonumber(string.match(entry[1], '^%d+'))
    local f = entry[2]
    if o < offset and (offset - o + 1 > maxCount or bytes - tonumber(f[6]) > maxBytes or tonumber(f[4]) < cutoff) then
      newFirst = o + 1
    else
      done = true
      break
    end
  end
  budget = budget - #entries
  batch = math.min(batch * 4, 512)
end
-- '~' drops whole stream nodes (100 entries by default) only, so trimming once per 64 offsets loses
-- nothing; reads never go below 'first' anyway.
if math.floor(newFirst / 64) ~= math.floor(first / 64) then
  redis.call('XTRIM', KEYS[2], 'MINID', '~', int(newFirst) .. '-0')
end
redis.call('HSET', KEYS[1], 'last', offset, 'first', int(newFirst), 'bytes', int(bytes), 'time', int(now))
return { epoch, offset, int(now) }
`;

/**
 * Reads history. ARGV: candidate epoch, known epoch, known last offset, now (ms), maxAgeMs, maxCount,
 * mode, page size ('' for all), then for mode 'after': the ID, and when the ID has the shape of a
 * generated one its epoch and offset ('' else); for mode 'all': the epoch and offset to continue after
 * ('' else). Returns { status, epoch, last, entries, more }: status 'ok' (entries: the updates after the
 * ID, or all of history for mode 'all', at most a page of them, more = 1 when the page stopped at its
 * size), 'expired' or 'unknown' (no entries). Reads never write, except to create a missing log (open_log).
 */
export const READ = `${OPEN_LOG}
local epoch, last, first = open_log(ARGV[1], ARGV[2], ARGV[3])
local cutoff = tonumber(ARGV[4]) - tonumber(ARGV[5])
first = math.max(first, last - tonumber(ARGV[6]) + 1)
local limit = tonumber(ARGV[8])
-- XRANGE from 'from', at most a page (COUNT one more than the page tells whether more remain).
local function range(from)
  if not limit then return redis.call('XRANGE', KEYS[2], from, '+'), 0 end
  local entries = redis.call('XRANGE', KEYS[2], from, '+', 'COUNT', limit + 1)
  if #entries > limit then
    entries[#entries] = nil
    return entries, 1
  end
  return entries, 0
end
if ARGV[7] == 'all' then
  local from = first
  if ARGV[9] == epoch then from = math.max(first, tonumber(ARGV[10]) + 1) end
  while true do
    local entries, more = range(int(from) .. '-0')
    -- Times never decrease along the log: the aged updates are a prefix.
    local skip = 0
    for i, entry in ipairs(entries) do
      if tonumber(entry[2][4]) < cutoff then skip = i else break end
    end
    if skip < #entries or more == 0 then
      if skip > 0 then
        local kept = {}
        for i = skip + 1, #entries do kept[#kept + 1] = entries[i] end
        entries = kept
      end
      return { 'ok', epoch, last, entries, more }
    end
    from = tonumber(string.match(entries[#entries][1], '^(%d+)')) + 1
  end
end

local offset
local score = redis.call('ZSCORE', KEYS[3], ARGV[9])
if score then offset = tonumber(score) end
if ARGV[10] ~= '' and ARGV[10] ~= epoch then
  -- A generated ID of another epoch was stored once, in a log that is gone.
  if not offset then return { 'expired', epoch, last } end
elseif ARGV[10] ~= '' then
  -- A generated ID (<epoch>-<offset>) names the update at that offset when that update's ID was generated.
  -- A publisher may have reused it later: the earliest wins.
  local g = tonumber(ARGV[11])
  if g <= last and (not offset or g < offset) then
    if g < first then return { 'expired', epoch, last } end
    local own = redis.call('XRANGE', KEYS[2], int(g) .. '-0', int(g) .. '-0')
    if #own == 0 then return { 'expired', epoch, last } end
    if own[1][2][8] == '' then offset = g end
  end
end
-- A generated ID for an update that had the publisher's ID was never handed out.
if not offset then return { 'unknown', epoch, last } end
if offset < first then return { 'expired', epoch, last } end
local own = redis.call('XRANGE', KEYS[2], int(offset) .. '-0', int(offset) .. '-0')
if #own == 0 then return { 'expired', epoch, last } end
if tonumber(own[1][2][4]) < cutoff then return { 'expired', epoch, last } end
local entries, more = range('(' .. int(offset) .. '-0')
return { 'ok', epoch, last, entries, more }
`;

/** The newest position. ARGV: candidate epoch, known epoch, known last offset. Returns { epoch, last }. */
export const POSITION = `${OPEN_LOG}
local epoch, last = open_log(ARGV[1], ARGV[2], ARGV[3])
return { epoch, last }
`;
