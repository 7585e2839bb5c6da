export type * from './instructions.js';
export type * from './host.js';
export { DockerfileError } from './errors.js';
export { parse, parseDockerfile, toStages, parseRunMount } from './parser.js';
export { expandWord, expandWords, referencedVariables, type Lookup } from './words.js';
export { openContext, type BuildContext, type OpenContextOptions } from './context.js';
export { planCopy, applyCopy, type CopyPlan, type CopySourceSpec, type CopyTarget } from './copy.js';
export { build, BuildStepError, type BuildJob, type BuildOutput } from './builder.js';
