// The seed: a plain script whose result is the value of its last expression.
// Every isolate compiles and runs it on its own; each prints HelloWorld.
function concat(a, b) {
  return a + b;
}

concat('Hello', 'World')
