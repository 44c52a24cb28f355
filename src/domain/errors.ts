/**
 * Errors a user can fix by changing what they typed. The CLI prints the message as one line and exits 2;
 * they are always raised before anything is written, so the database stays untouched.
 */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** The database exists but cannot be used as it is (corrupt, or written by a newer corral). Exit 2, never "repaired". */
export class StoreError extends Error {
  override readonly name = "StoreError";
}
