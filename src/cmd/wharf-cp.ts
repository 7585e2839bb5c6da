/**
 * The worker wharfd starts for a `docker cp` into a running container (daemon/containers/copyworker.ts):
 * it chroots into the container's root and does one extract there. Not for users.
 * It runs from a bundle of its own (scripts/bundle.js), so no top-level await: every copy into a
 * running container starts one of these, and the bundle starts in a fraction of the time of its
 * module graph.
 */
import { runCopyJob, type CopyJob } from '../daemon/index.js';

const job = JSON.parse(process.argv[2] ?? '{}') as CopyJob;
void runCopyJob(job, process.stdin, process.stdout).then((code) => {
  process.exitCode = code;
});
