// Hostile: a loop that never ends. The watchdog stops it at the timeout
// (--timeout-ms, default 1000) and the isolate is replaced; the others go on.
let spins = 0;
while (true) {
  spins++;
}
