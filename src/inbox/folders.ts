import fs from "node:fs";
import path from "node:path";

/** The three folders of a drop-folder root. */
export interface InboxDirs {
  readonly root: string;
  readonly inbox: string;
  readonly pending: string;
  readonly complete: string;
}

export function inboxDirs(root: string): InboxDirs {
  const r = path.resolve(root);
  return { root: r, inbox: path.join(r, "inbox"), pending: path.join(r, "pending"), complete: path.join(r, "complete") };
}

/** Sub-folders by name (the order users prioritise with: 100/, 110/, 140/); files and dot-names are ignored. */
export function folderNames(dir: string): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries
    .filter((e) => e.isDirectory() && !e.name.startsWith("."))
    .map((e) => e.name)
    .sort();
}

/** Seconds since anything in the folder (or the folder itself) last changed: copies in progress are recent. */
export function quietSeconds(folder: string): number {
  let newest = 0;
  const visit = (p: string, depth: number) => {
    const st = fs.lstatSync(p);
    newest = Math.max(newest, st.mtimeMs);
    if (st.isDirectory() && depth < 4) for (const name of fs.readdirSync(p)) visit(path.join(p, name), depth + 1);
  };
  visit(folder, 0);
  return (Date.now() - newest) / 1000;
}

/** The first file in the folder tree that cannot be read, if any. */
export function unreadable(folder: string): string | null {
  const visit = (p: string): string | null => {
    try {
      fs.accessSync(p, fs.constants.R_OK);
      if (fs.lstatSync(p).isDirectory()) {
        for (const name of fs.readdirSync(p)) {
          const bad = visit(path.join(p, name));
          if (bad) return bad;
        }
      }
      return null;
    } catch {
      return path.relative(folder, p) || ".";
    }
  };
  return visit(folder);
}

/** A name not yet taken in `dir`: NAME, then NAME.1, NAME.2... */
export function freeName(dir: string, name: string): string {
  if (!fs.existsSync(path.join(dir, name))) return name;
  for (let i = 1; ; i++) if (!fs.existsSync(path.join(dir, `${name}.${i}`))) return `${name}.${i}`;
}

/** Writes a helper file whole or not at all (temporary name, then rename). */
export function writeHelper(folder: string, name: string, content: string): void {
  const tmp = path.join(folder, `.${name}.${process.pid}.tmp`);
  fs.writeFileSync(tmp, content);
  fs.renameSync(tmp, path.join(folder, name));
}

export function readJson<T>(file: string): T | null {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8")) as T;
  } catch {
    return null;
  }
}
