// A stand-in for cpu_plugin_fuzz that speaks its protocol ("<byte count>\n<bytes>" in, one answer line out) and
// misbehaves on request: a case containing CRASH kills the process with SIGSEGV, HANG never answers. It checks
// that the fuzz harness attributes crashes and hangs to the right case and carries on after them.
let pending = Buffer.alloc(0);
process.stdin.on("data", (chunk) => {
  pending = Buffer.concat([pending, chunk]);
  for (;;) {
    const newline = pending.indexOf(10);
    if (newline < 0) return;
    const size = Number(pending.subarray(0, newline).toString());
    if (pending.length < newline + 1 + size) return;
    const text = pending.subarray(newline + 1, newline + 1 + size).toString("latin1");
    pending = pending.subarray(newline + 1 + size);
    if (text.includes("CRASH")) {
      process.stderr.write("fake driver: crashing as asked\n");
      process.kill(process.pid, "SIGSEGV");
      return;
    }
    if (text.includes("HANG")) {
      setInterval(() => {}, 1000);
      return;
    }
    process.stdout.write(text.includes("module") ? "ran 0\n" : "compile-error 3\n");
  }
});
