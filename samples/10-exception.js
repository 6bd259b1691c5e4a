// Hostile: a thrown exception. The message and stack, with each
// frame's file:line:col, are shown; the isolate stays usable.
function parse(input) {
  if (!input.startsWith('{')) {
    throw new TypeError(`not an object: ${input}`);
  }
  return JSON.parse(input);
}

parse('oops')
