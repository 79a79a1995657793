import { ConfigError, loadConfig } from './config.ts';
import { startNode } from './node.ts';

try {
  const node = await startNode(loadConfig());
  const stop = async () => {
    await node.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(2);
  }
  console.error('Vigil failed to start:', err instanceof Error ? err.message : err);
  process.exit(1);
}
