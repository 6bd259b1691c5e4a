// An async handler: the result is what its promise resolves to.
// Scripts get no timers or I/O; promises and await still work as in any runtime.
async function lookup(key) {
  await null;
  return { key, value: key.split('').reverse().join('') };
}

export default async function handler(event) {
  console.info('invocation', event.invocation, 'on isolate', event.isolate);
  const results = await Promise.all(['alpha', 'beta'].map(lookup));
  return results.map((r) => r.value).join(' ');
}
