import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Located, ParsedDockerfile, Stage } from './instructions.js';
import { checkStageNames, neededStages, stageDeps, stageRef, targetStage } from './_stages.js';

const raw = { keyword: 'x', flags: [], rest: '', heredocs: [], original: '', range: { startLine: 1, endLine: 1 } };

function stage(index: number, image: string, alias?: string, froms: string[] = []): Stage {
  return {
    index,
    from: { kind: 'from', image, alias, raw },
    steps: froms.map((f) => ({ kind: 'copy', sources: ['/a'], dest: '/b', heredocs: [], from: f, link: false, exclude: [], parents: false, raw }) as Located),
  };
}

const file = (stages: Stage[]): ParsedDockerfile => ({ directives: {}, escape: '\\', metaArgs: [], stages, warnings: [] });

test('stage references: names before this stage, indexes for --from only', () => {
  const s = [stage(0, 'busybox', 'base'), stage(1, 'base', 'b'), stage(2, 'scratch')];
  assert.equal(stageRef(s, 'BASE', 1), 0);
  assert.equal(stageRef(s, 'b', 1), undefined, 'a stage cannot name itself');
  assert.equal(stageRef(s, '0', 2), 0);
  assert.equal(stageRef(s, '0', 2, false), undefined, 'FROM 0 is an image');
  assert.throws(() => stageRef(s, '2', 2), /invalid from flag value 2: refers to current build stage/);
  assert.throws(() => stageRef(s, '5', 2), /index out of bounds/);
  assert.equal(stageRef(s, 'alpine', 2), undefined);
});

test('graph and pruning: what the target needs, transitively, in order', () => {
  const s = [
    stage(0, 'busybox', 'a'),
    stage(1, 'busybox', 'unused'),
    stage(2, 'a', 'b'),
    stage(3, 'scratch', 'c', ['b', '1']),
    stage(4, '${BASE}', 'd'),
  ];
  const deps = stageDeps(file(s), (w) => w.replace('${BASE}', 'c'));
  assert.deepEqual(deps.map((d) => [...d].sort()), [[], [], [0], [1, 2], [3]]);
  assert.deepEqual(neededStages(deps, targetStage(s, 'B')), [0, 2]);
  assert.deepEqual(neededStages(deps, targetStage(s, undefined)), [0, 1, 2, 3, 4]);
  assert.throws(() => targetStage(s, 'nope'), /^InvalidArgumentError: failed to reach build target nope in Dockerfile$|failed to reach build target nope in Dockerfile/);
  assert.throws(() => checkStageNames([stage(0, 'x', 'a'), stage(1, 'y', 'a')]), /a stage name already used/);
});
