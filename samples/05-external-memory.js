// Hostile: ArrayBuffers live outside the V8 heap. Press r: heap
// stays ~0.4 MiB; the --external-mb budget (64 MiB) stops them.
const buffers = [];
while (true) {
  buffers.push(new Uint8Array(4 << 20)); // 4 MiB each, none on the heap
}
