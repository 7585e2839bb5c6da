import type { EventMessage } from '../types/index.js';
import { tryParseReference } from '../image/index.js';

export type EventType = EventMessage['Type'];
export type EventFilters = Record<string, string[]>;

const HISTORY = 1024;

/**
 * The daemon's event bus. Keeps a bounded history so `events --since` can replay, as Docker does.
 * Subscribers get messages that already passed their filters.
 */
export class EventBus {
  #history: EventMessage[] = [];
  #subscribers = new Set<(e: EventMessage) => void>();

  get listenerCount(): number {
    return this.#subscribers.size;
  }

  publish(type: EventType, action: string, id: string, attributes: Record<string, string> = {}): EventMessage {
    const nowNs = BigInt(Date.now()) * 1_000_000n + process.hrtime.bigint() % 1_000_000n;
    const msg: EventMessage = {
      Type: type,
      Action: action,
      Actor: { ID: id, Attributes: attributes },
      scope: 'local',
      time: Number(nowNs / 1_000_000_000n),
      timeNano: Number(nowNs),
    };
    if (type === 'container') {
      msg.status = action;
      msg.id = id;
      if (attributes.image) msg.from = attributes.image;
    }
    this.#history.push(msg);
    if (this.#history.length > HISTORY) this.#history.splice(0, this.#history.length - HISTORY);
    for (const fn of this.#subscribers) fn(msg);
    return msg;
  }

  /** Replay history since `sinceNs` (inclusive) and then deliver live events; returns an unsubscribe function. */
  subscribe(fn: (e: EventMessage) => void, opts: { sinceNs?: bigint; filters?: EventFilters } = {}): () => void {
    const accept = (e: EventMessage) => matchesEvent(e, opts.filters ?? {});
    if (opts.sinceNs !== undefined) {
      for (const e of this.#history) if (BigInt(e.timeNano) >= opts.sinceNs && accept(e)) fn(e);
    }
    const sub = (e: EventMessage) => {
      if (accept(e)) fn(e);
    };
    this.#subscribers.add(sub);
    return () => this.#subscribers.delete(sub);
  }

  /** Past events in [sinceNs, untilNs] (for `events --until` in the past, which must not block). */
  replay(sinceNs: bigint | undefined, untilNs: bigint, filters: EventFilters = {}): EventMessage[] {
    return this.#history.filter((e) => {
      const t = BigInt(e.timeNano);
      return (sinceNs === undefined || t >= sinceNs) && t <= untilNs && matchesEvent(e, filters);
    });
  }
}

/** Docker's event filter semantics: values of one key are OR'ed, keys are AND'ed. */
export function matchesEvent(e: EventMessage, filters: EventFilters): boolean {
  const attrs = e.Actor.Attributes;
  for (const [key, values] of Object.entries(filters)) {
    if (values.length === 0) continue;
    const ok = values.some((v) => {
      switch (key) {
        case 'type':
          return e.Type === v;
        case 'event':
          return e.Action === v || e.Action.split(':')[0] === v;
        case 'container':
          // Docker's fuzzy match: an ID or a name, or a prefix of either, on any event type.
          return e.Actor.ID.startsWith(v) || (attrs.name ?? '').startsWith(v);
        case 'image': {
          // Docker's rule: the actor's ID or image name, with or without its tag.
          const name = (e.Type === 'image' ? attrs.name : attrs.image) ?? '';
          return [e.Actor.ID, name].some((x) => x === v || stripTag(x) === v);
        }
        case 'volume':
          return e.Type === 'volume' && e.Actor.ID === v;
        case 'network':
          return e.Type === 'network' && (e.Actor.ID === v || attrs.name === v);
        case 'label': {
          const eq = v.indexOf('=');
          return eq < 0 ? v in attrs : attrs[v.slice(0, eq)] === v.slice(eq + 1);
        }
        case 'scope':
          return e.scope === v;
        case 'daemon':
          return e.Type === 'daemon';
        default:
          return true;
      }
    });
    if (!ok) return false;
  }
  return true;
}

/** `busybox:latest` -> `busybox`; anything that is not a reference stays as it is. */
function stripTag(ref: string): string {
  return tryParseReference(ref)?.repo ?? ref;
}
