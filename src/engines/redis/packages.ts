import { createRequire } from "node:module";
import { ownFile } from "../../domain/own-files.js";
import { sideBundleAt } from "../../protocol/side-bundle.js";

/** The packages the Redis thread runs on. */
export interface RedisPackages {
  readonly synckit: typeof import("synckit");
  readonly ioredis: typeof import("ioredis");
  readonly bullmq: typeof import("bullmq");
}

let loaded: RedisPackages | null = null;

/**
 * ioredis, BullMQ and synckit for the thread behind redis-bridge.ts: from the bundle the build made of them
 * beside the startup snapshot (dist/bin/snapshot/redis.cjs, with its V8 code cache), else from node_modules.
 * A thread starts with nothing loaded, and loading these from their hundreds of files made every command that
 * asks Redis something about 0.3 s slower (0.5 s of CPU for a submit); each is loaded on first use.
 */
export function redisPackages(): RedisPackages {
  if (loaded === null) {
    const bundled = sideBundleAt(ownFile("bin/snapshot"), "redis") as RedisPackages | null;
    const require = createRequire(import.meta.url);
    loaded = bundled ?? {
      get synckit() {
        return require("synckit") as RedisPackages["synckit"];
      },
      get ioredis() {
        return require("ioredis") as RedisPackages["ioredis"];
      },
      get bullmq() {
        return require("bullmq") as RedisPackages["bullmq"];
      },
    };
  }
  return loaded;
}
