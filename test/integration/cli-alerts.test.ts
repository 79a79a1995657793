import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runVigil } from '../support/cli.ts';
import type { Run } from '../support/cli.ts';
import { startTestNode } from '../support/node.ts';
import type { TestNode } from '../support/node.ts';
import { collectionWithClient, indicator, postObjects } from '../support/stix.ts';
import { startReceiver } from '../support/webhook-receiver.ts';

// `vigil alert …` as a hospital runs it: a real child process, with its client token.

let node: TestNode;
let tmp: string;
beforeAll(async () => {
  node = await startTestNode({ ALERT_WEBHOOK_ALLOW_PRIVATE: 'true', ALERT_WEBHOOK_ALLOW_HTTP: 'true', ALERT_TICK_MS: '100' });
  tmp = mkdtempSync(path.join(tmpdir(), 'vigil-cli-alerts-'));
});
afterAll(async () => {
  await node?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

function vigil(token: string, args: string[]): Promise<Run> {
  return runVigil(['--url', node.url, '--token', token, ...args]);
}

describe('vigil alert', () => {
  it('subscribes with a client token, lists, shows the deliveries, and verifies a received alert', async () => {
    const { collectionId, token, base } = await collectionWithClient(node);
    const receiver = await startReceiver();
    try {
      const created = await vigil(token, [
        '--json',
        'alert',
        'subscribe',
        '--name',
        'ransomware IPs',
        '--collection',
        collectionId,
        '--webhook',
        receiver.url,
        '--observable',
        'ipv4-addr',
        '--label',
        'ransomware',
      ]);
      expect(created.code, created.stderr).toBe(0);
      const sub = JSON.parse(created.stdout);
      expect(sub.filter).toEqual({ labels: ['ransomware'], observable_types: ['ipv4-addr'] });

      const listed = await vigil(token, ['alert', 'list']);
      expect(listed.stdout).toContain(sub.id);
      expect(listed.stdout).toContain(`webhook ${receiver.url}`);

      await postObjects(node, base, [indicator({ labels: ['ransomware'] })], token);
      const [alert] = await receiver.waitFor(1);
      await node.deps.alerts.drain();
      const deliveries = await vigil(token, ['--json', 'alert', 'deliveries', sub.id, '--state', 'delivered']);
      expect(JSON.parse(deliveries.stdout).deliveries.map((d: { id: string }) => d.id)).toEqual([alert!.json.id]);

      const file = path.join(tmp, 'alert.json');
      writeFileSync(file, alert!.body);
      const good = await vigil(token, ['alert', 'verify', file, '--signature', alert!.headers['vigil-signature'] as string]);
      expect(good.code, good.stderr).toBe(0);
      expect(good.stdout).toContain(`valid: alert ${alert!.json.id}`);

      writeFileSync(file, alert!.body.replace('ransomware', 'ransomwarE'));
      const tampered = await vigil(token, ['alert', 'verify', file, '--signature', alert!.headers['vigil-signature'] as string]);
      expect(tampered.code).toBe(1);
      expect(tampered.stderr).toContain('the body does not match its signature');

      const paused = await vigil(token, ['--json', 'alert', 'update', sub.id, '--pause', '--no-webhook']);
      expect(JSON.parse(paused.stdout)).toMatchObject({ active: false, webhook_url: null, filter: sub.filter });
      expect((await vigil(token, ['alert', 'delete', sub.id])).code).toBe(0);
      expect((await vigil(token, ['alert', 'show', sub.id])).code).toBe(1);
    } finally {
      await receiver.close();
    }
  });

  it('subscribes to trends: an indicator sighted by enough organisations, or rising, in a window', async () => {
    const { collectionId, token } = await collectionWithClient(node);
    const made = await vigil(token, [
      '--json',
      'alert',
      'subscribe',
      '--name',
      'three hospitals',
      '--collection',
      collectionId,
      '--min-sighting-orgs',
      '3',
      '--rising',
      '--sighting-window',
      'day',
    ]);
    expect(made.code, made.stderr).toBe(0);
    expect(JSON.parse(made.stdout).filter).toEqual({ min_sighting_orgs: 3, rising: true, sighting_window: 'day' });
    const zero = await vigil(token, ['alert', 'subscribe', '--name', 'x', '--collection', collectionId, '--min-sighting-orgs', '0']);
    expect(zero.code).toBe(2);
    const windowAlone = await vigil(token, ['alert', 'subscribe', '--name', 'x', '--collection', collectionId, '--sighting-window', 'day']);
    expect(windowAlone.code).toBe(1);
    expect(windowAlone.stderr).toContain('sighting_window');
  });

  it("refuses bad arguments with a usage error, and a bad webhook with the node's reason", async () => {
    const { collectionId, token } = await collectionWithClient(node);
    const bad = await vigil(token, ['alert', 'subscribe', '--name', 'x', '--collection', collectionId, '--min-confidence', '101']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('must be a whole number from 0 to 100');
    const creds = await vigil(token, [
      'alert',
      'subscribe',
      '--name',
      'x',
      '--collection',
      collectionId,
      '--webhook',
      'https://user:pw@example.org/hook',
    ]);
    expect(creds.code).toBe(1);
    expect(creds.stderr).toContain('webhook_url: must not carry credentials');
    const wrong = await vigil('not-a-token-of-this-node', ['alert', 'list']);
    expect(wrong.code).toBe(4);
  });
});
