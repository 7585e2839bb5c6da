import { randomBytes } from 'node:crypto';
import { InvalidArgumentError } from './errors.js';

/** A 64-hex-character ID, as Docker gives containers and execs. */
export function newId(): string {
  return randomBytes(32).toString('hex');
}

/** stringid.TruncateID: drop the algorithm prefix (`sha256:`) and keep 12 hex digits. */
export function shortId(id: string): string {
  const i = id.indexOf(':');
  return (i >= 0 ? id.slice(i + 1) : id).slice(0, 12);
}

// Docker's rule for container names (daemon/names.go's validContainerNamePattern).
const NAME_RE = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

export function validateContainerName(name: string): string {
  if (!NAME_RE.test(name)) {
    throw new InvalidArgumentError(`Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  }
  return name.replace(/^\//, '');
}

const LEFT = [
  'admiring', 'adoring', 'affectionate', 'agitated', 'amazing', 'angry', 'awesome', 'blissful', 'bold',
  'boring', 'brave', 'busy', 'charming', 'clever', 'cool', 'compassionate', 'competent', 'confident',
  'crazy', 'dazzling', 'determined', 'distracted', 'dreamy', 'eager', 'ecstatic', 'elastic', 'elated',
  'elegant', 'eloquent', 'epic', 'fervent', 'festive', 'flamboyant', 'focused', 'friendly', 'frosty',
  'gallant', 'gifted', 'goofy', 'gracious', 'happy', 'hardcore', 'heuristic', 'hopeful', 'hungry',
  'infallible', 'inspiring', 'jolly', 'jovial', 'keen', 'kind', 'laughing', 'loving', 'lucid', 'magical',
  'modest', 'musing', 'mystifying', 'naughty', 'nervous', 'nice', 'nifty', 'nostalgic', 'objective',
  'optimistic', 'peaceful', 'pedantic', 'pensive', 'practical', 'priceless', 'quirky', 'quizzical',
  'relaxed', 'reverent', 'romantic', 'sad', 'serene', 'sharp', 'silly', 'sleepy', 'stoic', 'strange',
  'stupefied', 'suspicious', 'sweet', 'tender', 'thirsty', 'trusting', 'upbeat', 'vibrant', 'vigilant',
  'vigorous', 'wizardly', 'wonderful', 'xenodochial', 'youthful', 'zealous', 'zen',
];
const RIGHT = [
  'agnesi', 'albattani', 'allen', 'archimedes', 'babbage', 'bardeen', 'bartik', 'bell', 'bhabha', 'bohr',
  'booth', 'borg', 'bose', 'brahmagupta', 'brattain', 'burnell', 'cannon', 'carson', 'cerf', 'chandrasekhar',
  'curie', 'darwin', 'davinci', 'dijkstra', 'einstein', 'elion', 'engelbart', 'euclid', 'euler', 'fermat',
  'fermi', 'feynman', 'franklin', 'galileo', 'gauss', 'goldberg', 'goodall', 'hamilton', 'hawking',
  'heisenberg', 'hodgkin', 'hopper', 'hypatia', 'jackson', 'jang', 'johnson', 'kalam', 'kepler', 'khorana',
  'knuth', 'kowalevski', 'lalande', 'lamarr', 'leakey', 'lovelace', 'lumiere', 'mayer', 'mccarthy',
  'meitner', 'mendel', 'mirzakhani', 'montalcini', 'morse', 'napier', 'newton', 'nobel', 'noether',
  'pascal', 'pasteur', 'perlman', 'pike', 'poincare', 'ptolemy', 'raman', 'ramanujan', 'ritchie',
  'rosalind', 'sammet', 'shannon', 'shockley', 'sinoussi', 'stallman', 'swanson', 'swirles', 'tesla',
  'thompson', 'torvalds', 'turing', 'varahamihira', 'villani', 'wescoff', 'wiles', 'williams', 'wilson',
  'wing', 'wozniak', 'wright', 'yalow', 'yonath',
];

export function randomName(): string {
  const pick = (list: string[]) => list[randomBytes(2).readUInt16BE(0) % list.length];
  return `${pick(LEFT)}_${pick(RIGHT)}`;
}
