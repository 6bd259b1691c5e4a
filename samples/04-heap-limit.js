// Hostile: memory grows to the heap limit (h, --heap-mb, 64 MiB).
// Press r: "heap limit exceeded", the isolate is replaced.
const hoard = [];
while (true) {
  hoard.push(new Array(100000).fill(hoard.length));
}
