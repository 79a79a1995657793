import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type ReceivedAlert = { headers: http.IncomingHttpHeaders; body: string; json: any };

/**
 * A webhook receiver on loopback, as a hospital would run one: it records every POST and
 * answers with the status `respond` gives (200 unless told otherwise).
 */
export async function startReceiver(respond: (n: number) => number = () => 200) {
  const received: ReceivedAlert[] = [];
  let attempts = 0;
  const waiters: (() => void)[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const status = respond(attempts++);
      const body = Buffer.concat(chunks).toString('utf8');
      if (status >= 200 && status < 300) {
        received.push({ headers: req.headers, body, json: JSON.parse(body) });
        for (const w of waiters.splice(0)) w();
      }
      res.writeHead(status, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return {
    url,
    received,
    get attempts() {
      return attempts;
    },
    /** Resolves once `n` alerts were accepted, or rejects after `ms`. */
    async waitFor(n: number, ms = 10_000): Promise<ReceivedAlert[]> {
      const deadline = Date.now() + ms;
      while (received.length < n) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`expected ${n} alerts, received ${received.length} (${attempts} attempts)`);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, Math.min(left, 200));
          waiters.push(() => {
            clearTimeout(t);
            resolve();
          });
        });
      }
      return received;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
