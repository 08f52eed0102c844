import { MAX_TTL_MS } from '../../store/index.js';
import { invalidExpireTime, NOT_AN_INTEGER, RedisReplyError } from '../RedisReplyError.js';

/** Digits of the largest and (without the sign) smallest Redis long long. */
const LLONG_MAX_DIGITS = '9223372036854775807';
const LLONG_MIN_DIGITS = '9223372036854775808';

/**
 * Parses a decimal integer with redis-server's string2ll rules: optional `-`,
 * no `+`, no spaces, no leading zeros, no `-0`, within a signed 64-bit range.
 * Returns undefined when it is not one. Values beyond 2^53 come back rounded
 * (callers treat anything beyond the safe range as out of range).
 */
export function parseInteger(s: string): number | undefined {
  const n = s.length;
  if (n === 0 || n > 20) return undefined;
  let i = 0;
  if (s.charCodeAt(0) === 45) {
    if (n === 1) return undefined;
    i = 1;
  }
  const first = s.charCodeAt(i);
  if (first === 48) return n === 1 ? 0 : undefined;
  if (first < 49 || first > 57) return undefined;
  const negative = i === 1;
  const digitsStart = i;
  let v = 0;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return undefined;
    v = v * 10 + (c - 48);
  }
  const digits = n - digitsStart;
  if (digits > 19) return undefined;
  // Doubles cannot tell 2^63 - 1 from 2^63: compare the digits themselves.
  if (digits === 19 && s.slice(digitsStart) > (negative ? LLONG_MIN_DIGITS : LLONG_MAX_DIGITS))
    return undefined;
  if (digits > 15) return Number(s); // correctly rounded, unlike the running sum
  return negative ? -v : v;
}

/** parseInteger or the `value is not an integer or out of range` reply. */
export function integerArg(s: string): number {
  const v = parseInteger(s);
  if (v === undefined) throw new RedisReplyError(NOT_AN_INTEGER);
  return v;
}

/** Case-insensitive comparison with a lowercase word. */
export function is(arg: string, lowerWord: string): boolean {
  return arg.length === lowerWord.length && (arg === lowerWord || arg.toLowerCase() === lowerWord);
}

/** Units of an expire argument. */
export const SECONDS = 1000;
export const MILLISECONDS = 1;

/**
 * Turns an expire argument into an absolute epoch ms time, as redis-server's
 * getExpireMillisecondsOrReply does (not an integer -> `value is not an
 * integer ...`; <= 0 or overflowing -> `invalid expire time in '<cmd>'
 * command`), plus meshcache's own bound: no further than MAX_TTL_MS (10 years)
 * from now, the same limit the gRPC data plane applies.
 */
export function expireArg(
  arg: string,
  unit: number,
  absolute: boolean,
  command: string,
  now: number,
): number {
  const t = integerArg(arg);
  if (t <= 0) throw invalidExpireTime(command);
  const at = absolute ? t * unit : now + t * unit;
  if (!Number.isSafeInteger(at) || at - now > MAX_TTL_MS) throw invalidExpireTime(command);
  return at;
}

const LLONG_MAX = 2n ** 63n - 1n;
const LLONG_MIN = -(2n ** 63n);

/**
 * An EXPIRE-family time as an absolute epoch ms time, with redis-server's
 * checks and in its order: not an integer -> `value is not an integer ...`;
 * overflowing a signed 64-bit ms time -> `invalid expire time in '<cmd>'
 * command`. Zero and negative are allowed (the key is deleted). The result
 * may be beyond the safe integer range or past the 10-year bound: the caller
 * checks that with checkExpiryBound once it knows the key exists, so a
 * missing key still answers 0 as redis-server does.
 */
export function expireArgOrPast(
  arg: string,
  unit: number,
  absolute: boolean,
  command: string,
  now: number,
): number {
  integerArg(arg);
  let when = BigInt(arg);
  if (unit === SECONDS) {
    if (when > LLONG_MAX / 1000n || when < LLONG_MIN / 1000n) throw invalidExpireTime(command);
    when *= 1000n;
  }
  const base = absolute ? 0n : BigInt(now);
  if (when > LLONG_MAX - base) throw invalidExpireTime(command);
  return Number(when + base);
}

/** meshcache's bound on an expiry: at most MAX_TTL_MS (10 years) from now, as on the gRPC data plane. */
export function checkExpiryBound(at: number, command: string, now: number): void {
  if (!Number.isSafeInteger(at) || at - now > MAX_TTL_MS) throw invalidExpireTime(command);
}
