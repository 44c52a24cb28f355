import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const made: string[] = [];

/**
 * A new folder in the temp dir for a test, removed when the test process exits, so a run of the suite leaves
 * no hundreds of folders behind. CORRAL_KEEP_TMP=1 keeps them, to look at what a failed test left.
 */
export function tempDir(prefix: string): string {
  if (made.length === 0 && process.env.CORRAL_KEEP_TMP !== "1") {
    process.on("exit", () => {
      for (const dir of made) fs.rmSync(dir, { recursive: true, force: true });
    });
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(dir);
  return dir;
}
