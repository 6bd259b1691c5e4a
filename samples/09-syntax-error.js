// Hostile: this does not compile. The error names file:line:col
// and ▶ marks the line; fix it (e), Ctrl-S, and it runs again.
const greeting = 'Hello';
const message = greeting + ;

message
