/**
 * The builder: stages, the step loop, instruction semantics, the cache and the classic
 * builder's output, over the BuildHost port. Owner: the executor.
 */
import type { BuildRequest } from '../types/index.js';
import type { BuildContext } from './context.js';
import type { BuildHost } from './host.js';

/** Where the build's output goes: the JSON stream's `stream` and `aux` messages. */
export interface BuildOutput {
  /** Text of the classic builder's output (`Step 1/5 : FROM busybox\n`, ` ---> Using cache\n`, RUN output). */
  stream(text: string): void;
  /** `{ ID: 'sha256:...' }` before `Successfully built`, as dockerd sends it. */
  aux(value: Record<string, unknown>): void;
}

export interface BuildJob {
  context: BuildContext;
  request: BuildRequest;
  host: BuildHost;
  output: BuildOutput;
  /** Aborted when the client goes away: the running step is killed and nothing half-made stays. */
  signal: AbortSignal;
  /** The daemon's environment, for build args given without a value and the proxy args. */
  env: Record<string, string | undefined>;
}

/**
 * Builds and tags; resolves to the final image's ID. A failing step rejects with BuildStepError
 * (its exit code), a bad Dockerfile with DockerfileError, a missing base with NotFoundError.
 */
export async function build(job: BuildJob): Promise<string> {
  void job;
  throw new Error('not implemented');
}

/** A RUN that exited non-zero: the stream's errorDetail carries `code`, which the docker CLI exits with. */
export class BuildStepError extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}
