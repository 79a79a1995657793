// The node under test in a process of its own, so its RSS is its own: the parent passes the
// environment, and this answers with the node's URL once it listens.
import { loadConfig } from '../../src/config.ts';
import { startNode } from '../../src/node.ts';

const node = await startNode(loadConfig(process.env));
process.send?.({ url: node.url });
process.on('message', (m) => {
  if (m === 'stop') void node.close().then(() => process.exit(0));
});
process.on('disconnect', () => void node.close().then(() => process.exit(0)));
