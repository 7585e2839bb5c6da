/**
 * The worker wharfd starts for a `docker cp` of a running container (daemon/containers/copyworker.ts):
 * it chroots into the container's root and does one stat, archive or extract there. Not for users.
 */
import { runCopyJob, type CopyJob } from '../daemon/index.js';

const job = JSON.parse(process.argv[2] ?? '{}') as CopyJob;
process.exitCode = await runCopyJob(job, process.stdin, process.stdout);
