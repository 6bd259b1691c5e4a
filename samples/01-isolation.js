// Globals are per isolate (and per context). Press r a few times:
// each isolate counts its own runs (same N ×4); m, r: always 1.
globalThis.count = (globalThis.count ?? 0) + 1;

`this isolate has counted to ${count}`
