/** The Redis version the front door reports (HELLO, INFO): the command set follows Redis 7.0. */
export const REDIS_COMPAT_VERSION = '7.0.0';
