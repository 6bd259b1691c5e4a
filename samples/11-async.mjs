// An async handler: the result is what its promise resolves to.
// No timers or I/O here; promises and await work as anywhere.
async function lookup(key) {
  await null;
  return { key, value: key.split('').reverse().join('') };
}

export default async function handler(event) {
  console.info('invocation', event.invocation, 'on isolate', event.isolate);
  const results = await Promise.all(['alpha', 'beta'].map(lookup));
  return results.map((r) => r.value).join(' ');
}
