// Hostile: a loop that never ends. Press r: the watchdog stops it
// at w (wall clock, 1000 ms) or --cpu-ms, replaces the isolate.
let spins = 0;
while (true) {
  spins++;
}
