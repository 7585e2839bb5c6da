/**
 * The worker thread wharfd extracts a layer on (storage/apply-worker.ts). Not for users.
 * It runs from a bundle of its own (scripts/bundle.js): a pull or load starts a few of these.
 */
import { parentPort } from 'node:worker_threads';
import { serveLayerJobs } from '../storage/index.js';

if (!parentPort) throw new Error('wharf-layer is a worker thread of wharfd, not a command');
serveLayerJobs(parentPort);
