import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { StoreError } from "../domain/errors.js";
import { runsDirOf } from "../protocol/run-dir.js";
import { networkFilesystem } from "./filesystem.js";
import { MIGRATIONS, SCHEMA_VERSION } from "./migrations.js";

export interface OpenOptions {
  readonly path: string;
  /** Create the database (and its folder) when missing. */
  readonly create?: boolean;
  /** Open without ever writing: no pragmas, no migrations. */
  readonly readonly?: boolean;
}

/** How long a writer waits for another one before giving up: generous, since many corral processes may queue. */
const BUSY_TIMEOUT_MS = 120_000;

/**
 * The project's SQLite database. Every write goes through `write()` (BEGIN IMMEDIATE with a busy timeout),
 * so concurrent corral processes queue instead of failing with "database is locked", and a process killed
 * mid-way leaves either the whole transaction or none of it.
 */
export class Store {
  readonly db: Database.Database;
  readonly path: string;
  /** The `.corral/` folder holding the database, run directories and config. */
  readonly dir: string;
  readonly journal: "wal" | "delete";
  readonly networkFs: string | null;
  private readonly statements = new Map<string, Database.Statement>();

  private constructor(db: Database.Database, file: string, networkFs: string | null) {
    this.db = db;
    this.path = file;
    this.dir = path.dirname(file);
    this.networkFs = networkFs;
    this.journal = networkFs ? "delete" : "wal";
  }

  get runsDir(): string {
    return runsDirOf(this.dir);
  }

  /** A prepared statement, cached for the life of the connection. */
  stmt(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  /**
   * A number that changes whenever another connection commits (SQLite's data_version): a long-lived reader
   * polls it, cheaply, to learn that something changed without re-reading anything.
   */
  dataVersion(): number {
    return this.db.pragma("data_version", { simple: true }) as number;
  }

  write<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  /** Several reads that must see one moment (a deferred transaction; also on a read-only connection). */
  read<T>(fn: () => T): T {
    return this.db.transaction(fn).deferred();
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  static open(opts: OpenOptions): Store {
    const file = path.resolve(opts.path);
    const exists = fs.existsSync(file);
    if (!exists) {
      if (!opts.create) throw new StoreError(`no corral database at ${file}`);
      fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
      // An empty file is a valid empty database; creating it ourselves makes it user-only (0600).
      fs.closeSync(fs.openSync(file, "a", 0o600));
    }
    const networkFs = networkFilesystem(path.dirname(file));
    let db: Database.Database;
    try {
      db = new Database(file, { readonly: opts.readonly ?? false, fileMustExist: true, timeout: BUSY_TIMEOUT_MS });
    } catch (err) {
      throw new StoreError(`cannot open database ${file}: ${(err as Error).message}`);
    }
    const store = new Store(db, file, networkFs);
    try {
      const version = readVersion(db, file);
      if (version > SCHEMA_VERSION) {
        throw new StoreError(
          `database ${file} has schema version ${version}, newer than this corral understands (${SCHEMA_VERSION}); upgrade corral — the database was left as it is`,
        );
      }
      if (!opts.readonly) {
        store.configure();
        if (version < SCHEMA_VERSION) store.migrate();
      }
    } catch (err) {
      store.close();
      throw err;
    }
    return store;
  }

  private configure(): void {
    const want = this.journal;
    const current = String(this.db.pragma("journal_mode", { simple: true })).toLowerCase();
    if (current !== want) this.db.pragma(`journal_mode = ${want.toUpperCase()}`);
    // In WAL mode NORMAL survives any process crash (kill -9); only a power loss can drop the last commits.
    this.db.pragma(`synchronous = ${want === "wal" ? "NORMAL" : "FULL"}`);
    this.db.pragma("foreign_keys = ON");
  }

  private migrate(): void {
    this.write(() => {
      // Re-read inside the write lock: another process may have migrated meanwhile.
      const version = readVersion(this.db, this.path);
      for (let v = version; v < SCHEMA_VERSION; v++) this.db.exec(MIGRATIONS[v]!);
      if (version === 0) {
        this.db.exec("CREATE TABLE schema_version (version INTEGER NOT NULL)");
        this.db.prepare("INSERT INTO schema_version (version) VALUES (?)").run(SCHEMA_VERSION);
      } else if (version < SCHEMA_VERSION) {
        this.db.prepare("UPDATE schema_version SET version = ?").run(SCHEMA_VERSION);
      }
    });
  }
}

function readVersion(db: Database.Database, file: string): number {
  try {
    const hasTable = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'").get();
    if (!hasTable) {
      const anyTable = db.prepare("SELECT count(*) AS n FROM sqlite_master").get() as { n: number };
      if (anyTable.n > 0) throw new StoreError(`${file} is an SQLite database but not a corral one (no schema_version table); refusing to touch it`);
      return 0;
    }
    const row = db.prepare("SELECT version FROM schema_version").get() as { version: number } | undefined;
    if (!row || !Number.isInteger(row.version)) throw new StoreError(`database ${file} has no valid schema version; refusing to touch it`);
    return row.version;
  } catch (err) {
    if (err instanceof StoreError) throw err;
    throw new StoreError(`database ${file} is unreadable or corrupt (${(err as Error).message}); refusing to touch it`);
  }
}
