import dns from 'node:dns';
import net from 'node:net';

// Preloaded (NODE_OPTIONS=--import) into the processes of an emulated compose service
// (compose-emulation.ts): what a container's network gives them, on one loopback address of
// their own. VIGIL_TEST_CONTAINER_NET = {"address": "127.x.y.z", "hosts": {"vigil-b": "127.x.y.w", …}}.
//  - Docker's DNS: the other services' names resolve to their addresses;
//  - the container's own network: listening on every interface (0.0.0.0, ::, no host) listens on
//    its address, and its loopback (127.0.0.1, localhost, ::1) is that address too.

type ContainerNet = { address: string; hosts: Record<string, string> };

const spec = process.env.VIGIL_TEST_CONTAINER_NET;
if (spec) install(JSON.parse(spec) as ContainerNet);

function install({ address, hosts }: ContainerNet): void {
  const lookup = dns.lookup;
  (dns as { lookup: unknown }).lookup = (hostname: string, options: unknown, callback?: unknown) => {
    const cb = (typeof options === 'function' ? options : callback) as (...args: unknown[]) => void;
    const opts =
      typeof options === 'function' ? {} : typeof options === 'number' ? { family: options } : ((options ?? {}) as dns.LookupOptions);
    const target = Object.hasOwn(hosts, hostname) ? hosts[hostname]! : hostname;
    if (net.isIP(target) === 0) return (lookup as (...args: unknown[]) => void).call(dns, target, opts, cb);
    const family = net.isIP(target);
    process.nextTick(() => (opts.all ? cb(null, [{ address: target, family }]) : cb(null, target, family)));
  };

  const wildcard = (host: unknown) => host === undefined || host === null || host === '' || host === '0.0.0.0' || host === '::';
  const listen = net.Server.prototype.listen;
  net.Server.prototype.listen = function (this: net.Server, ...args: unknown[]) {
    const [first, second] = args;
    if (first !== null && typeof first === 'object' && 'port' in first && wildcard((first as net.ListenOptions).host)) {
      args[0] = { ...(first as net.ListenOptions), host: address };
    } else if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) {
      if (typeof second === 'string') {
        if (wildcard(second)) args[1] = address;
      } else args.splice(1, 0, address);
    }
    return listen.apply(this, args as never);
  } as typeof listen;

  const loopback = (host: unknown) => host === undefined || host === 'localhost' || host === '127.0.0.1' || host === '::1';
  const connect = net.Socket.prototype.connect;
  net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]) {
    // net.connect() passes its normalized [options, callback] array; a direct call passes the parts.
    const holder = Array.isArray(args[0]) ? (args[0] as unknown[]) : args;
    const first = holder[0];
    if (first !== null && typeof first === 'object' && !('path' in first && (first as { path?: string }).path)) {
      if (loopback((first as net.TcpNetConnectOpts).host)) holder[0] = { ...(first as object), host: address };
    } else if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) {
      if (typeof holder[1] !== 'string') holder.splice(1, 0, address);
      else if (loopback(holder[1])) holder[1] = address;
    }
    return connect.apply(this, args as never);
  } as typeof connect;
}
