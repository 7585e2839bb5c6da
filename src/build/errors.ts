import { InvalidArgumentError } from '../util/index.js';
import type { SourceRange } from './instructions.js';

/**
 * A problem in the Dockerfile itself, pointing at its line. A 400 at the API edge before the
 * build starts, an error line in the build stream after.
 * The message follows moby's: `dockerfile parse error on line 3: unknown instruction: FOO`.
 */
export class DockerfileError extends InvalidArgumentError {
  constructor(
    readonly reason: string,
    readonly range?: SourceRange,
  ) {
    super(range ? `dockerfile parse error on line ${range.startLine}: ${reason}` : `dockerfile parse error: ${reason}`);
  }
}
