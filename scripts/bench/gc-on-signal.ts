// Preloaded into the gateway process of the memory benchmark only (`node --expose-gc --import
// <this file> main.js serve`): on SIGUSR2 it runs a full garbage collection and writes
// process.memoryUsage() as one line on stderr, so the benchmark can tell the V8 heap and the
// buffers held by live objects from memory the allocator merely keeps. It changes nothing else.
process.on('SIGUSR2', () => {
  (globalThis as { gc?: () => void }).gc?.();
  process.stderr.write(`gatehouse-bench-memory ${JSON.stringify(process.memoryUsage())}\n`);
});
export {};
