// Cores cap throughput: Space, then n (F4) 1, 2, 8, and t (F3).
// Past the cores, /s stops rising and calls wait (queue wait).
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
