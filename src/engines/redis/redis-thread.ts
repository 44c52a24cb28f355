import { redisPackages } from "./packages.js";
import { handle } from "./redis-calls.js";

// The thread behind redis-bridge.ts: Redis clients are asynchronous, corral's engine interface is not.
redisPackages().synckit.runAsWorker(handle);
