/**
 * The worker wharfd starts on a data root that has no default image yet (a first start): it
 * makes busybox:latest there and exits, so that the daemon does not keep what making it cost
 * (daemon/images.ts makeDefaultImageApart). Not for users. Its log lines go to the daemon's log.
 */
import { makeDefaultImage, type DefaultImageJob } from '../daemon/index.js';
import { createLogger } from '../util/index.js';

const job = JSON.parse(process.argv[2] ?? '{}') as DefaultImageJob;
makeDefaultImage(job, createLogger(job.logLevel ?? 'info')).then(
  () => {
    process.exitCode = 0;
  },
  (err: unknown) => {
    process.stderr.write(`wharf-default-image: ${(err as Error).message}\n`);
    process.exitCode = 1;
  },
);
