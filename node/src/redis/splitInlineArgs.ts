/** C isspace(): space, \t, \n, \v, \f, \r. */
function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

/** True when position i is the end of the line, a NUL or whitespace. */
function endsWord(line: string, i: number): boolean {
  if (i >= line.length) return true;
  const c = line.charCodeAt(i);
  return c === 0 || isSpace(c);
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/**
 * Splits an inline command line (latin1) into arguments the way redis-server
 * does (sdssplitargs): whitespace separates; "double quotes" take \n \r \t \b
 * \a \\ \" and \xHH escapes; 'single quotes' take \'; a closing quote must be
 * followed by whitespace or the end; a NUL byte ends the line. Writes the
 * arguments to out[0..] and returns their count, or -1 for unbalanced quotes.
 */
export function splitInlineArgs(line: string, out: string[]): number {
  const n = line.length;
  let p = 0;
  let argc = 0;
  while (true) {
    while (p < n && isSpace(line.charCodeAt(p))) p++;
    if (p >= n || line.charCodeAt(p) === 0) return argc;
    let current = '';
    let inDouble = false;
    let inSingle = false;
    let done = false;
    while (!done) {
      const c = p < n ? line.charCodeAt(p) : 0;
      if (inDouble) {
        if (c === 0) return -1;
        if (c === 92 /* \ */ && p + 1 < n) {
          const e = line.charCodeAt(p + 1);
          const h1 = p + 2 < n ? hexValue(line.charCodeAt(p + 2)) : -1;
          const h2 = p + 3 < n ? hexValue(line.charCodeAt(p + 3)) : -1;
          if (e === 120 /* x */ && h1 >= 0 && h2 >= 0) {
            current += String.fromCharCode(h1 * 16 + h2);
            p += 3;
          } else {
            p++;
            if (e === 110) current += '\n';
            else if (e === 114) current += '\r';
            else if (e === 116) current += '\t';
            else if (e === 98) current += '\b';
            else if (e === 97) current += '\x07';
            else current += line[p];
          }
        } else if (c === 34 /* " */) {
          if (!endsWord(line, p + 1)) return -1;
          done = true;
        } else {
          current += line[p];
        }
      } else if (inSingle) {
        if (c === 0) return -1;
        if (c === 92 && p + 1 < n && line.charCodeAt(p + 1) === 39) {
          p++;
          current += "'";
        } else if (c === 39 /* ' */) {
          if (!endsWord(line, p + 1)) return -1;
          done = true;
        } else {
          current += line[p];
        }
      } else if (c === 32 || c === 10 || c === 13 || c === 9 || c === 0) {
        done = true;
      } else if (c === 34) {
        inDouble = true;
      } else if (c === 39) {
        inSingle = true;
      } else {
        current += line[p];
      }
      if (p < n && c !== 0) p++;
    }
    out[argc++] = current;
  }
}
