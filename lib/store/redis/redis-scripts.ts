/**
 * The Lua scripts that make each store operation one atomic step (and one round trip).
 * Field names are one letter to keep each session small: c csrf, a access uid, x access expiry, e expiry,
 * t created at, n namespace ('' for none), r refresh by access allowed ('1' or '0').
 * Namespace scripts reach the session keys listed in the index: they carry the index's hash tag, so in a
 * cluster they live in the same slot as the index key.
 * @internal
 */

const SESSION_KEY = `
local function session_key(prefix, uid)
  return prefix .. 's:{' .. string.sub(uid, 1, 16) .. '}' .. string.sub(uid, 17)
end
`;

/** An index lives exactly as long as its longest-lived member, and no longer once that one is gone. */
const INDEX_TTL = `
local function fit_index_ttl(index)
  local last = redis.call('ZRANGE', index, -1, -1, 'WITHSCORES')
  if last[2] then redis.call('EXPIREAT', index, last[2]) end
end
`;

/** The namespace's live members: drops expired entries first, so the index never outgrows its namespace. */
const LIVE_MEMBERS = `
local function live_members(index, now, prefix, namespace)
  redis.call('ZREMRANGEBYSCORE', index, '-inf', now)
  local members = {}
  for _, uid in ipairs(redis.call('ZRANGE', index, 0, -1)) do
    local key = session_key(prefix, uid)
    local owner = redis.call('HGET', key, 'n')
    if owner == namespace then
      members[#members + 1] = { uid, key }
    elseif not owner then
      redis.call('ZREM', index, uid)
    end
  end
  return members
end
`;

/**
 * KEYS: session, index. ARGV: c a x e t n r now uid. The expiry is checked before any write, so a key can never
 * be left without its TTL.
 */
export const CREATE = `${INDEX_TTL}
local e = tonumber(ARGV[4])
if not e or e ~= math.floor(e) or e > 4503599627370496 then return redis.error_reply('ERR invalid session expiry') end
if e <= tonumber(ARGV[8]) then return 0 end
redis.call('HSET', KEYS[1], 'c', ARGV[1], 'a', ARGV[2], 'x', ARGV[3], 'e', ARGV[4], 't', ARGV[5], 'n', ARGV[6], 'r', ARGV[7])
redis.call('EXPIREAT', KEYS[1], ARGV[4])
if ARGV[6] ~= '' then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[8])
  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[9])
  fit_index_ttl(KEYS[2])
end
return 1
`;

/**
 * KEYS: session. ARGV: expected access uid, new a, new x, new c, now. Answers the updated fields, or nil.
 * Idempotent: a resend of the same relink (ioredis resends commands whose reply was lost) answers success again.
 */
export const RELINK = `
local current = redis.call('HMGET', KEYS[1], 'a', 'e')
if not current[2] or tonumber(current[2]) <= tonumber(ARGV[5]) then return false end
if current[1] == ARGV[2] then return redis.call('HMGET', KEYS[1], 'c', 'a', 'x', 'e', 't', 'n', 'r') end
if current[1] ~= ARGV[1] then return false end
redis.call('HSET', KEYS[1], 'a', ARGV[2], 'x', ARGV[3], 'c', ARGV[4])
return redis.call('HMGET', KEYS[1], 'c', 'a', 'x', 'e', 't', 'n', 'r')
`;

/** KEYS: session, index. ARGV: uid, now. Answers 1 if a live session was deleted. */
export const DELETE = `${INDEX_TTL}
local fields = redis.call('HMGET', KEYS[1], 'n', 'e')
if not fields[2] then return 0 end
redis.call('DEL', KEYS[1])
if fields[1] ~= '' then
  redis.call('ZREM', KEYS[2], ARGV[1])
  fit_index_ttl(KEYS[2])
end
if tonumber(fields[2]) <= tonumber(ARGV[2]) then return 0 end
return 1
`;

/** KEYS: index. ARGV: namespace, now, prefix. */
export const DELETE_NAMESPACE = `${SESSION_KEY}${LIVE_MEMBERS}${INDEX_TTL}
local members = live_members(KEYS[1], ARGV[2], ARGV[3], ARGV[1])
for _, member in ipairs(members) do
  redis.call('DEL', member[2])
  redis.call('ZREM', KEYS[1], member[1])
end
fit_index_ttl(KEYS[1])
return #members
`;

/** KEYS: index. ARGV: namespace, now, prefix. */
export const UNLINK_NAMESPACE_ACCESS = `${SESSION_KEY}${LIVE_MEMBERS}
local members = live_members(KEYS[1], ARGV[2], ARGV[3], ARGV[1])
for _, member in ipairs(members) do
  redis.call('HSET', member[2], 'x', '0')
end
return #members
`;

/** KEYS: index. ARGV: namespace, now, prefix. Answers { uid, c, a, x, e, t, n, r } per session. */
export const LIST = `${SESSION_KEY}${LIVE_MEMBERS}
local out = {}
for _, member in ipairs(live_members(KEYS[1], ARGV[2], ARGV[3], ARGV[1])) do
  local fields = redis.call('HMGET', member[2], 'c', 'a', 'x', 'e', 't', 'n', 'r')
  table.insert(fields, 1, member[1])
  out[#out + 1] = fields
end
return out
`;

/** Field order of HMGET replies, shared by the store's reply parser. */
export const SESSION_FIELDS = ['c', 'a', 'x', 'e', 't', 'n', 'r'] as const;
