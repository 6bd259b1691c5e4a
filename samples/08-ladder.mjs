// A FaaS-style handler: the default export gets { isolate, invocation, payload }.
// It transforms a JSON payload (try --payload '{"items":[{"name":"pen","price":2,"qty":3}]}').
export default function handler(event) {
  const items = event.payload?.items ?? [
    { name: 'apple', price: 0.5, qty: 4 },
    { name: 'bread', price: 2.25, qty: 1 },
  ];
  const lines = items.map(({ name, price, qty }) => ({ name, total: +(price * qty).toFixed(2) }));
  const total = lines.reduce((sum, l) => sum + l.total, 0);
  return { isolate: event.isolate, lines, total: +total.toFixed(2) };
}
