// CPU-bound work: a naive prime sieve. Throughput here is bounded by cores,
// not by isolates: compare 1, 2 and 4 isolates on a 2-core machine.
function primesBelow(n) {
  const composite = new Uint8Array(n);
  let count = 0;
  for (let i = 2; i < n; i++) {
    if (composite[i]) continue;
    count++;
    for (let j = i * i; j < n; j += i) composite[j] = 1;
  }
  return count;
}

primesBelow(200000)
