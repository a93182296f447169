import { afterEach } from "vitest";
import { liveArrays, liveBuffers } from "../../src/index.js";
afterEach(async (ctx) => {
  const a = [liveArrays(), liveBuffers()];
  await new Promise((r) => setTimeout(r, 300));
  console.log("PROBE", ctx.task.name, a, [liveArrays(), liveBuffers()]);
});
