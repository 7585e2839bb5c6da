/**
 * The stage graph: which stage a name or index means, what each stage needs (FROM <stage>,
 * COPY --from, RUN --mount from=), and which stages a target needs, as BuildKit prunes them.
 */
import { InvalidArgumentError } from '../util/index.js';
import type { ParsedDockerfile, Stage } from './instructions.js';

/**
 * The stage `name` refers to from stage `current`: an alias (case-insensitive) of a stage
 * before it, or, for `--from` (`index`), its number. Undefined when `name` is an image.
 * moby's errors for an index that is not a stage before this one.
 */
export function stageRef(stages: readonly Stage[], name: string, current: number, index = true): number | undefined {
  const lower = name.toLowerCase();
  for (let i = current - 1; i >= 0; i--) if (stages[i].from.alias === lower) return i;
  if (!index || !/^\d+$/.test(name)) return undefined;
  const i = Number(name);
  if (i === current) throw new InvalidArgumentError(`invalid from flag value ${name}: refers to current build stage`);
  if (i > current) throw new InvalidArgumentError(`invalid from flag value ${name}: index out of bounds`);
  return i;
}

/** moby's check that no two stages share a name. */
export function checkStageNames(stages: readonly Stage[]): void {
  const seen = new Set<string>();
  for (const s of stages) {
    const name = s.from.alias;
    if (!name) continue;
    if (seen.has(name)) throw new InvalidArgumentError(`${name} stage name already used`);
    seen.add(name);
  }
}

/** The stage indexes each stage waits for; words are expanded by `expand` (meta ARGs in scope). */
export function stageDeps(parsed: ParsedDockerfile, expand: (word: string) => string): Set<number>[] {
  const { stages } = parsed;
  return stages.map((stage, i) => {
    const deps = new Set<number>();
    const add = (word: string | undefined) => {
      if (!word) return;
      const ref = stageRef(stages, expand(word), i);
      if (ref !== undefined) deps.add(ref);
    };
    const base = stageRef(stages, expand(stage.from.image), i, false);
    if (base !== undefined) deps.add(base);
    for (const step of stage.steps) {
      if (step.kind === 'copy' || step.kind === 'add') add(step.from);
      if (step.kind === 'run') for (const m of step.mounts) add(m.from);
    }
    return deps;
  });
}

/** The stage a `--target` names; the last stage without one. Docker's error when it is not there. */
export function targetStage(stages: readonly Stage[], target: string | undefined): number {
  if (!target) return stages.length - 1;
  const lower = target.toLowerCase();
  const i = stages.findIndex((s) => s.from.alias === lower);
  if (i < 0) throw new InvalidArgumentError(`failed to reach build target ${target} in Dockerfile`);
  return i;
}

/** The stages `target` needs, itself included, in Dockerfile order. */
export function neededStages(deps: readonly Set<number>[], target: number): number[] {
  const seen = new Set<number>();
  const visit = (i: number) => {
    if (seen.has(i)) return;
    seen.add(i);
    for (const d of deps[i]) visit(d);
  };
  visit(target);
  return [...seen].sort((a, b) => a - b);
}
