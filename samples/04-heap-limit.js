// Hostile: memory grows until the isolate's heap limit (--heap-mb, default 64).
// The run is stopped with "heap limit exceeded" instead of aborting the process.
const hoard = [];
while (true) {
  hoard.push(new Array(100000).fill(hoard.length));
}
