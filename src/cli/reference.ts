/*
 * Image references as docker's CLI reads them, before the daemon is asked: the grammar and its
 * error texts are util's (shared with the daemon); what is the CLI's own is here.
 */
import type { NamedRef } from '../util/index.js';

export { familiarName, familiarString, isNameOnly, parseNormalizedNamed, refName, refString, withDefaultTag, type NamedRef } from '../util/index.js';

/** What the API's `tag` query carries for a pull: the digest if any, else the tag (latest by default). */
export const apiTag = (r: NamedRef): string => r.digest ?? r.tag ?? 'latest';
