import { runAsWorker } from "synckit";
import { handle } from "./redis-calls.js";

// The thread behind redis-bridge.ts: Redis clients are asynchronous, corral's engine interface is not.
runAsWorker(handle);
