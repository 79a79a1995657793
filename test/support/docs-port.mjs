// Preloaded (NODE_OPTIONS=--import) into the Node processes of the docs' shell
// (docs-commands.test.ts): the docs say the node is on 127.0.0.1:8000, and the test's node is on
// a free port, VIGIL_DOCS_PORT. A connection to port 8000 on loopback goes to that port instead;
// nothing else changes. Plain JavaScript: `npx` may run on the machine's own Node, which strips
// no types.
import net from 'node:net';

const port = Number(process.env.VIGIL_DOCS_PORT);
if (port) {
  const loopback = (host) => host === undefined || host === 'localhost' || host === '127.0.0.1' || host === '::1';
  const connect = net.Socket.prototype.connect;
  net.Socket.prototype.connect = function (...args) {
    // net.connect() passes its normalized [options, callback] array; a direct call passes the parts.
    const holder = Array.isArray(args[0]) ? args[0] : args;
    const first = holder[0];
    if (first !== null && typeof first === 'object') {
      if (Number(first.port) === 8000 && loopback(first.host)) holder[0] = { ...first, port };
    } else if (Number(first) === 8000 && (typeof holder[1] !== 'string' || loopback(holder[1]))) holder[0] = port;
    return connect.apply(this, args);
  };
}
