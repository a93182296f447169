// The leak check every test file ends with (tests/helpers/setup.ts): before the devices close, no device buffer
// may be alive (every array disposed or freed by tidy) and every live executable must be one a device's cache
// holds; after closing, both counts must be 0. Counting waits for the work still in flight (an execution whose
// disposed result is freed when it finishes, a compile), so the counts are what stays alive, not a moment of it.
// The counters throw when the addon cannot be loaded, so a broken build fails the check instead of reading 0.
import { closeDevices, devicesIdle, heldExecutables, liveBuffers, liveExecutables } from "../../src/index.js";

export async function expectNoLeaksThenClose(): Promise<void> {
  await devicesIdle();
  const buffers = liveBuffers();
  const executables = liveExecutables();
  const held = await heldExecutables();
  const problems: string[] = [];
  if (buffers !== 0) problems.push(`before closing the devices ${buffers} device buffer(s) are alive: dispose the arrays or create them inside tidy`);
  if (executables !== held) {
    problems.push(`before closing the devices ${executables} executable(s) are alive but the devices hold ${held}: ${executables - held} compiled outside a device and not disposed`);
  }
  await closeDevices();
  const after = { buffers: liveBuffers(), executables: liveExecutables() };
  if (after.buffers !== 0 || after.executables !== 0) {
    problems.push(`after closing the devices ${after.buffers} buffer(s) and ${after.executables} executable(s) are still alive`);
  }
  if (problems.length > 0) throw new Error(`leak check: ${problems.join("; ")}`);
}
