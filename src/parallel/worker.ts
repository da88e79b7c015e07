/**
 * A worker thread's shard of a sharded analysis (see sharded.ts): analyse, report
 * the connections opened and the findings, then render its connections once the
 * main thread has numbered them.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { analyzeShard } from '../analyze.js';
import { parsePacketFilter } from '../decode/packet-filter.js';
import { analyzedOf, renderShard, type RenderRequest, type ShardJob } from './sharded.js';

const job = workerData as ShardJob;
const port = parentPort!;
const { result, openedAt, streamOpenedAt } = await analyzeShard(job.inputs, job.options, job.shard, job.sequenceAnalysis, job.expression === null ? null : parsePacketFilter(job.expression));
port.once('message', (req: RenderRequest) => {
  const rendered = renderShard(result.connections, result.findings, job.shard.count, req);
  port.postMessage(rendered);
  port.close();
});
port.postMessage(analyzedOf(result, openedAt, streamOpenedAt));
