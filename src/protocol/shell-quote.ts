/** Single-quotes a string for POSIX sh: every byte survives (newlines, `$`, backslashes, non-ASCII); only NUL cannot exist in argv anyway. */
export function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A command line as a user would retype it: bare words where safe, quoted otherwise. */
export function formatCommand(argv: readonly string[]): string {
  return argv.map((a) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : shQuote(a))).join(" ");
}
