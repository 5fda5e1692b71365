/**
 * The store's Lua scripts. Each runs atomically on the server, so the read, the comparison and
 * the write cannot interleave with another worker's. Times come from the caller (ARGV), because
 * leases are compared on the store's injectable clock, never on the server's; `PX` only lets
 * Redis drop keys nobody will ask about again.
 *
 * @module
 */
import { script } from './client.ts';
import { RECORD_VERSION } from './record.ts';

/** Decodes the record held at KEYS[1] into `record`; runs `absent` (which returns) when there is none. */
const load = (absent: string) => `
local raw = redis.call('GET', KEYS[1])
if not raw then ${absent} end
local ok, record = pcall(cjson.decode, raw)
if not ok or type(record) ~= 'table' or record.v ~= ${RECORD_VERSION} then
  return redis.error_reply('MISSIVE_RECORD Redis key ' .. KEYS[1] .. ' does not hold a version ${RECORD_VERSION} idempotency record. ' ..
    'Give the store a keyPrefix no other data uses, and run one Missive version per prefix.')
end`;

/**
 * The lease check shared by `complete`, `release` and `renew`. ARGV[1]: the caller's token,
 * ARGV[2]: now. Returns 0 unless the key is held, by that token, and the lease has not lapsed.
 */
const current = `${load('return 0')}
if record.s ~= 'p' or record.t ~= ARGV[1] or record.e <= tonumber(ARGV[2]) then return 0 end`;

/**
 * `begin` when `SET NX` found the key taken. ARGV[1]: now, ARGV[2]: the new lease's value,
 * ARGV[3]: its PX. Returns the record found if it is still live; otherwise (the lease lapsed, the
 * completed record outlived its time to live on our clock, or Redis dropped the key since
 * `SET NX`) takes the key and returns nil.
 */
const take = `redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return false`;
export const beginScript = script(`${load(take)}
if record.e > tonumber(ARGV[1]) then return raw end
${take}`);

/**
 * ARGV[3]: the completed record's expiry, ARGV[4]: its PX, ARGV[5]: '1' when ARGV[6] is a
 * result to keep. Keeps the fingerprint. Returns 1 when completed.
 */
export const completeScript = script(`${current}
local done = { v = ${RECORD_VERSION}, s = 'c', e = tonumber(ARGV[3]), f = record.f }
if ARGV[5] == '1' then done.r = ARGV[6] end
redis.call('SET', KEYS[1], cjson.encode(done), 'PX', ARGV[4])
return 1`);

/** Deletes the key. Returns 1 when released. */
export const releaseScript = script(`${current}
redis.call('DEL', KEYS[1])
return 1`);

/** ARGV[3]: the lease's new expiry, ARGV[4]: its PX. Returns 1 when renewed. */
export const renewScript = script(`${current}
record.e = tonumber(ARGV[3])
redis.call('SET', KEYS[1], cjson.encode(record), 'PX', ARGV[4])
return 1`);
