// Hostile: a thrown exception. The message and the stack (with file:line:col
// of each frame) are reported; the isolate stays usable for the next run.
function parse(input) {
  if (!input.startsWith('{')) {
    throw new TypeError(`not an object: ${input}`);
  }
  return JSON.parse(input);
}

parse('oops')
