// The ladder (press l or F10): this handler per call as isolate,
// snapshot, process, container-like process, node; × vs warm.

// A FaaS-style handler: prices a cart from event.payload (p sets it, e.g.
// {"items":[{"name":"pen","price":2,"qty":3}]}), or a default cart.
export default function handler(event) {
  const items = event.payload?.items ?? [
    { name: 'apple', price: 0.5, qty: 4 },
    { name: 'bread', price: 2.25, qty: 1 },
  ];
  const lines = items.map(({ name, price, qty }) => ({ name, total: +(price * qty).toFixed(2) }));
  const total = lines.reduce((sum, l) => sum + l.total, 0);
  return { lines, total: +total.toFixed(2) };
}
