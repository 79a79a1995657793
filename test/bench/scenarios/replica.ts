import { startReplicaPair } from '../../support/replica-pair.ts';
import { generate } from '../data.ts';
import { client } from '../load.ts';
import type { Row } from '../report.ts';
import { growTo } from '../suite.ts';
import { ADMIN_TOKEN, postgresTarget } from '../target.ts';
import { createCollection } from './setup.ts';
import { siemPolls } from './siem.ts';
import type { SiemOptions } from './siem.ts';

// Polls with one read replica (DATABASE_READ_URL) against the same polls on its primary alone, on
// one pair started for the purpose (test/support/replica-pair.ts) and the same data. On one
// machine the standby shares the cores with the primary, the node and the load: the figure says
// what a replica costs and that reads go through it, not what a second machine would add.

export async function replicaPolls(objects: number, siem: SiemOptions): Promise<Row[]> {
  const pair = await startReplicaPair();
  try {
    const withReplica = await postgresTarget(pair.primaryUrl, {}, { readUrls: [pair.standbyUrl] });
    try {
      const admin = client(withReplica.url, 2);
      const collectionId = await createCollection(admin, 'bench replica');
      await admin.close();
      await growTo(withReplica, collectionId, generate({ seed: 11 }), 0, objects);
      await pair.caughtUp();
      const size = `${objects.toLocaleString('en-US')} objects`;
      const alone = await postgresTarget(pair.primaryUrl, {}, { schema: withReplica.schema! });
      let primaryRows: Row[];
      try {
        primaryRows = await siemPolls(alone, collectionId, ADMIN_TOKEN, siem, size);
      } finally {
        await alone.stop();
      }
      const replicaRows = await siemPolls(withReplica, collectionId, ADMIN_TOKEN, siem, size);
      const label = (rows: Row[], how: string) =>
        rows.map((r) => ({ ...r, scenario: r.scenario.replace('SIEM polls, open loop:', `SIEM polls, ${how}:`) }));
      return [...label(primaryRows, 'primary alone (replica pair)'), ...label(replicaRows, 'reads on one hot standby')];
    } finally {
      await withReplica.stop();
    }
  } finally {
    await pair.stop();
  }
}
