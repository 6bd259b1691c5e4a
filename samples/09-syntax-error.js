// Hostile: this does not compile. The error names file:line:col and shows
// the line; nothing runs, and fixing the file reloads it.
const greeting = 'Hello';
const message = greeting + ;

message
