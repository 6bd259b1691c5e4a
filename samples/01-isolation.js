// Isolation: each isolate has its own globals. In warm mode every isolate counts
// its own invocations (1, 2, 3, ...); in context and cold mode it starts at 1 again.
globalThis.count = (globalThis.count ?? 0) + 1;

`this isolate has counted to ${count}`
