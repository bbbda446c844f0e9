/**
 * The Lua scripts that make each store operation one atomic step (and one round trip).
 * Field names are one letter to keep each session small: c csrf, a access uid, x access expiry, e expiry,
 * t created at, n namespace ('' for none), r refresh by access allowed ('1' or '0'), l last refreshed at;
 * written only when set: d idle deadline, f current refresh id, p, q and k the refresh id, access id and CSRF
 * secret the last rotation retired, o when it did, u user agent, i client IP. A session key expires at its end or idle deadline,
 * whichever is first; its rotation's successor tokens live in a key of their own for the grace window.
 * Namespace scripts reach the session keys listed in the index: they carry the index's hash tag, so in a
 * cluster they live in the same slot as the index key.
 * @internal
 */

/** Field order of HMGET replies (and of a FIND row once read), shared by the store's reply parser. */
export const SESSION_FIELDS = ['c', 'a', 'x', 'e', 't', 'n', 'r', 'l', 'd', 'f', 'p', 'q', 'k', 'o', 'u', 'i'] as const;
const FIELD_LIST = SESSION_FIELDS.map((field) => `'${field}'`).join(', ');

/**
 * KEYS: sessions. Each session's fields as one JSON array of arrays of field/value pairs (an object for a missing
 * session, or for a key that is not a hash): the HGETALLs, but one reply string to parse, which halves the client's
 * CPU on the hottest path (the access check). HGETALL rather than HMGET of every field costs Redis a fifth less per
 * session. Many concurrent checks share one call, so a damaged key fails its own lookup only (pcall).
 */
export const FIND = `local found = {}
for i, key in ipairs(KEYS) do found[i] = redis.pcall('HGETALL', key) end
return cjson.encode(found)`;

/** Seconds the successors key outlives the grace window, against clock skew between the app and Redis. */
const SUCCESSORS_SLACK = 5;

/** A session's keys from its id, as RedisKeys builds them: its hash, and its rotation's successors. */
const SESSION_KEY = `
local function session_key(prefix, uid)
  return prefix .. 's:{' .. string.sub(uid, 1, 16) .. '}' .. string.sub(uid, 17)
end
local function successors_key(prefix, uid)
  return prefix .. 'g:{' .. string.sub(uid, 1, 16) .. '}' .. string.sub(uid, 17)
end
`;

/** Whether fields { e, d } (end, idle deadline) say a session is live at \`now\`: the caller's clock rules, not only Redis's TTL. */
const IS_LIVE = `
local function is_live(fields, now)
  return fields[1] and tonumber(fields[1]) > now and (not fields[2] or tonumber(fields[2]) > now)
end
`;

/** An index lives exactly as long as its longest-lived member, and no longer once that one is gone. */
const INDEX_TTL = `
local function fit_index_ttl(index)
  local last = redis.call('ZRANGE', index, -1, -1, 'WITHSCORES')
  if last[2] then redis.call('EXPIREAT', index, last[2]) end
end
`;

/**
 * The namespace's live members as { uid, session key, successors key }: drops expired entries first, so the index
 * never outgrows its namespace, and deletes members already past their end or idle deadline by \`now\`.
 */
const LIVE_MEMBERS = `${IS_LIVE}
local function live_members(index, now, prefix, namespace)
  now = tonumber(now)
  redis.call('ZREMRANGEBYSCORE', index, '-inf', now)
  local members = {}
  for _, uid in ipairs(redis.call('ZRANGE', index, 0, -1)) do
    local key = session_key(prefix, uid)
    local fields = redis.call('HMGET', key, 'e', 'd', 'n')
    if fields[3] == namespace and is_live(fields, now) then
      members[#members + 1] = { uid, key, successors_key(prefix, uid) }
    elseif not fields[3] or fields[3] == namespace then
      redis.call('DEL', key, successors_key(prefix, uid))
      redis.call('ZREM', index, uid)
    end
  end
  return members
end
`;

/**
 * KEYS: session, index. ARGV: now, uid, expiry, live until, cap per namespace (0: none), namespace (''), prefix, then
 * field/value pairs. The expiry is checked before any write, so a key can never be left without its TTL. Answers the
 * ids of the oldest sessions of the namespace deleted to keep it within the cap.
 */
export const CREATE = `${SESSION_KEY}${LIVE_MEMBERS}${INDEX_TTL}
local now, e, live = tonumber(ARGV[1]), tonumber(ARGV[3]), tonumber(ARGV[4])
if not e or e ~= math.floor(e) or e > 4503599627370496 or not live or live > e then return redis.error_reply('ERR invalid session expiry') end
if live <= now then return {} end
redis.call('HSET', KEYS[1], unpack(ARGV, 8))
redis.call('EXPIREAT', KEYS[1], live)
local evicted = {}
if ARGV[6] ~= '' then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
  redis.call('ZADD', KEYS[2], e, ARGV[2])
  local cap = tonumber(ARGV[5])
  if cap > 0 and redis.call('ZCARD', KEYS[2]) > cap then
    local others = {}
    for _, member in ipairs(live_members(KEYS[2], now, ARGV[7], ARGV[6])) do
      if member[1] ~= ARGV[2] then
        others[#others + 1] = { member[1], member[2], tonumber(redis.call('HGET', member[2], 't')) or 0, member[3] }
      end
    end
    table.sort(others, function(x, y) if x[3] ~= y[3] then return x[3] < y[3] end return x[1] < y[1] end)
    for i = 1, #others + 1 - cap do
      redis.call('DEL', others[i][2], others[i][4])
      redis.call('ZREM', KEYS[2], others[i][1])
      evicted[#evicted + 1] = others[i][1]
    end
  end
  fit_index_ttl(KEYS[2])
end
return evicted
`;

/** Writes a refresh: the access link, the last refresh time, and the idle deadline with the key's new TTL; answers the session's new end. */
const APPLY_LINK = `
local function apply_link(key, a, x, c, l, d)
  redis.call('HSET', key, 'a', a, 'x', x, 'c', c, 'l', l)
  local live = tonumber(redis.call('HGET', key, 'e'))
  if d ~= '' then
    redis.call('HSET', key, 'd', d)
    live = math.min(live, tonumber(d))
  else
    redis.call('HDEL', key, 'd')
  end
  redis.call('EXPIREAT', key, live)
  return live
end
`;

/**
 * KEYS: session. ARGV: expected access uid, new a, x, c, l, d ('' without idle timeout), now. Answers the
 * session's fields, or nil. Idempotent: a resend of the same relink (ioredis resends commands whose reply was lost)
 * answers success again.
 */
export const RELINK = `${IS_LIVE}${APPLY_LINK}
local now = tonumber(ARGV[7])
local current = redis.call('HMGET', KEYS[1], 'e', 'd', 'a')
if not is_live(current, now) then return false end
if current[3] == ARGV[2] then return redis.call('HMGET', KEYS[1], ${FIELD_LIST}) end
if current[3] ~= ARGV[1] then return false end
apply_link(KEYS[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6])
return redis.call('HMGET', KEYS[1], ${FIELD_LIST})
`;

/**
 * KEYS: session. ARGV: refresh id ('' for a session that never rotated), new a, x, c, l, d ('' without idle timeout),
 * now, stop if early ('1' or '0'). Answers { 'relinked', replaced access expiry, fields }, { 'early', fields },
 * { 'not-current' } or { 'gone' }. Idempotent like RELINK.
 */
export const RELINK_BY_REFRESH = `${IS_LIVE}${APPLY_LINK}
local now = tonumber(ARGV[7])
local s = redis.call('HMGET', KEYS[1], 'e', 'd', 'a', 'x', 'f')
if not is_live(s, now) then return { 'gone' } end
if s[3] == ARGV[2] then return { 'relinked', '0', redis.call('HMGET', KEYS[1], ${FIELD_LIST}) } end
if (s[5] or '') ~= ARGV[1] then return { 'not-current' } end
if ARGV[8] == '1' and tonumber(s[4]) > now then return { 'early', redis.call('HMGET', KEYS[1], ${FIELD_LIST}) } end
apply_link(KEYS[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6])
return { 'relinked', s[4], redis.call('HMGET', KEYS[1], ${FIELD_LIST}) }
`;

/**
 * KEYS: session, index, successors. ARGV: presented kind ('r' refresh id, 'a' access uid), presented id, new f, a, x,
 * c, l, d, now, grace seconds, successor access token, successor refresh token, uid, stop if early ('1' or '0').
 * Answers { 'rotated', fields }, { 'replayed', access, refresh, fields }, { 'reused', namespace }, { 'refused' },
 * { 'early', fields } or { 'gone' }.
 */
export const ROTATE = `${IS_LIVE}${APPLY_LINK}${INDEX_TTL}
local now, grace = tonumber(ARGV[9]), tonumber(ARGV[10])
local s = redis.call('HMGET', KEYS[1], 'e', 'd', 'f', 'a', 'x', 'p', 'q', 'o', 'n', 'c')
if not is_live(s, now) then return { 'gone' } end
local f = s[3] or ''
if f == ARGV[3] then return { 'rotated', redis.call('HMGET', KEYS[1], ${FIELD_LIST}) } end
local presented_refresh = ARGV[1] == 'r'
if ARGV[2] == (presented_refresh and f or s[4]) then
  if not presented_refresh and s[5] == '0' then return { 'refused' } end
  if ARGV[14] == '1' and tonumber(s[5]) > now then return { 'early', redis.call('HMGET', KEYS[1], ${FIELD_LIST}) } end
  -- A flushed access token is not retired but dead: it must never replay the successors.
  redis.call('HSET', KEYS[1], 'f', ARGV[3], 'p', f, 'q', s[5] == '0' and '' or s[4], 'k', s[10], 'o', ARGV[9])
  local live = apply_link(KEYS[1], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8])
  redis.call('DEL', KEYS[3])
  if grace > 0 then
    -- Kept a little past the window (which \`o\` and the caller's clock judge), so that a skew between the app's
    -- clock and Redis's cannot cut it short; never past the session itself.
    redis.call('RPUSH', KEYS[3], ARGV[11], ARGV[12])
    redis.call('EXPIREAT', KEYS[3], math.min(now + grace + ${SUCCESSORS_SLACK}, live))
  end
  return { 'rotated', redis.call('HMGET', KEYS[1], ${FIELD_LIST}) }
end
local previous = presented_refresh and s[6] or s[7]
if not presented_refresh and previous and ARGV[2] == previous and s[5] == '0' then return { 'refused' } end
-- The window is judged by the caller's clock; the successors key's own TTL only frees it afterwards.
if previous and ARGV[2] == previous and grace > 0 and s[8] and now - tonumber(s[8]) <= grace then
  local kept = redis.call('LRANGE', KEYS[3], 0, 1)
  if kept[2] then return { 'replayed', kept[1], kept[2], redis.call('HMGET', KEYS[1], ${FIELD_LIST}) } end
end
redis.call('DEL', KEYS[1], KEYS[3])
if s[9] ~= '' then
  redis.call('ZREM', KEYS[2], ARGV[13])
  fit_index_ttl(KEYS[2])
end
return { 'reused', s[9] }
`;

/** KEYS: session, index, successors. ARGV: uid, now. Answers 1 if a live session was deleted. */
export const DELETE = `${IS_LIVE}${INDEX_TTL}
local fields = redis.call('HMGET', KEYS[1], 'e', 'd', 'n')
if not fields[1] then return 0 end
redis.call('DEL', KEYS[1], KEYS[3])
if fields[3] ~= '' then
  redis.call('ZREM', KEYS[2], ARGV[1])
  fit_index_ttl(KEYS[2])
end
if is_live(fields, tonumber(ARGV[2])) then return 1 end
return 0
`;

/** KEYS: index. ARGV: namespace, now, prefix, uid to keep (''). */
export const DELETE_NAMESPACE = `${SESSION_KEY}${LIVE_MEMBERS}${INDEX_TTL}
local deleted = 0
for _, member in ipairs(live_members(KEYS[1], ARGV[2], ARGV[3], ARGV[1])) do
  if member[1] ~= ARGV[4] then
    redis.call('DEL', member[2], member[3])
    redis.call('ZREM', KEYS[1], member[1])
    deleted = deleted + 1
  end
end
fit_index_ttl(KEYS[1])
return deleted
`;

/** KEYS: index. ARGV: namespace, now, prefix. */
export const UNLINK_NAMESPACE_ACCESS = `${SESSION_KEY}${LIVE_MEMBERS}${INDEX_TTL}
local members = live_members(KEYS[1], ARGV[2], ARGV[3], ARGV[1])
for _, member in ipairs(members) do
  redis.call('HSET', member[2], 'x', '0')
end
fit_index_ttl(KEYS[1])
return #members
`;

/** KEYS: index. ARGV: namespace, now, prefix. Answers { uid, fields... } per session. */
export const LIST = `${SESSION_KEY}${LIVE_MEMBERS}${INDEX_TTL}
local out = {}
for _, member in ipairs(live_members(KEYS[1], ARGV[2], ARGV[3], ARGV[1])) do
  local fields = redis.call('HMGET', member[2], ${FIELD_LIST})
  table.insert(fields, 1, member[1])
  out[#out + 1] = fields
end
fit_index_ttl(KEYS[1])
return out
`;


