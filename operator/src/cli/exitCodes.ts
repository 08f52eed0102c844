/** Exit codes of the `meshcache` command line, stable for scripts. */
export const EXIT_OK = 0;
/** The key does not exist (get), or a conditional write did not happen (set --if-absent/--if-present). */
export const EXIT_NOT_FOUND = 1;
/** Bad usage, bad input, or the cluster refused or failed the request. */
export const EXIT_ERROR = 2;
