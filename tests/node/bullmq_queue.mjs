// BullMQ against a Redis-compatible server (issue #11): a Queue, a Worker with concurrency 4,
// a job retried with backoff until it succeeds, a job that exhausts its attempts, a delayed job,
// and QueueEvents (an XREAD BLOCK reader of the queue's event stream).
//
// Usage: FERRODIS_PORT=<port> node tests/node/bullmq_queue.mjs
// Exits 0 when every assertion holds; 1 on the first failed assertion, on any error, or when the
// whole run takes longer than GLOBAL_TIMEOUT_MS. Driven by tests/bullmq.rs.

import assert from 'node:assert/strict';
import { Queue, Worker, QueueEvents } from 'bullmq';

const GLOBAL_TIMEOUT_MS = 60_000;
const CONCURRENCY = 4;
const ADD_JOBS = 10;
const DELAY_MS = 500;

const port = Number(process.env.FERRODIS_PORT);
if (!Number.isInteger(port) || port <= 0) {
  console.error('set FERRODIS_PORT to the server port');
  process.exit(2);
}

const started = Date.now();
const log = (msg) => console.log(`[${String(Date.now() - started).padStart(5)} ms] ${msg}`);

const timer = setTimeout(() => {
  console.error(`FAILED: global timeout of ${GLOBAL_TIMEOUT_MS} ms reached`);
  process.exit(1);
}, GLOBAL_TIMEOUT_MS);

// Workers need maxRetriesPerRequest: null; no reconnect storm if the server dies mid-test.
const connection = {
  host: '127.0.0.1',
  port,
  maxRetriesPerRequest: null,
  retryStrategy: (times) => (times > 3 ? null : 100),
};
const queueName = `ferrodis-bullmq-${process.pid}`;

async function main() {
  const queue = new Queue(queueName, { connection });
  const events = new QueueEvents(queueName, { connection });
  await queue.waitUntilReady();
  await events.waitUntilReady();

  // What QueueEvents saw, by event name.
  const seen = { completed: [], failed: [] };
  events.on('completed', ({ jobId, returnvalue }) => seen.completed.push({ jobId, returnvalue }));
  events.on('failed', ({ jobId, failedReason }) => seen.failed.push({ jobId, failedReason }));

  let active = 0;
  let peakActive = 0;
  const attemptsSeen = { flaky: [], doomed: [] };
  const processor = async (job) => {
    active += 1;
    peakActive = Math.max(peakActive, active);
    try {
      switch (job.name) {
        case 'add':
          await new Promise((r) => setTimeout(r, 50));
          return job.data.a + job.data.b;
        case 'flaky':
          attemptsSeen.flaky.push(job.attemptsMade);
          if (job.attemptsMade < 2) throw new Error(`flaky attempt ${job.attemptsMade + 1}`);
          return `ok after ${job.attemptsMade + 1} attempts`;
        case 'doomed':
          attemptsSeen.doomed.push(job.attemptsMade);
          throw new Error('always fails');
        case 'delayed':
          return { ranAfterMs: Date.now() - job.data.addedAt };
        default:
          throw new Error(`unexpected job name ${job.name}`);
      }
    } finally {
      active -= 1;
    }
  };
  const worker = new Worker(queueName, processor, {
    connection,
    concurrency: CONCURRENCY,
    autorun: false,
  });
  let workerFailures = 0;
  worker.on('failed', () => {
    workerFailures += 1;
  });
  worker.on('error', (err) => log(`worker error: ${err.message}`));

  // Enqueue everything before the worker starts, so concurrency is really exercised.
  const addJobs = await queue.addBulk(
    Array.from({ length: ADD_JOBS }, (_, i) => ({ name: 'add', data: { a: i, b: 100 * i } })),
  );
  const flaky = await queue.add('flaky', {}, { attempts: 3, backoff: { type: 'fixed', delay: 100 } });
  const doomed = await queue.add(
    'doomed',
    {},
    { attempts: 2, backoff: { type: 'exponential', delay: 50 } },
  );
  const delayed = await queue.add('delayed', { addedAt: Date.now() }, { delay: DELAY_MS });
  assert.equal(await delayed.getState(), 'delayed', 'delayed job state right after add');
  log(`enqueued ${ADD_JOBS + 3} jobs`);

  const expectedCompleted = ADD_JOBS + 2; // adds, flaky (on its 3rd attempt), delayed
  const allEvents = new Promise((resolve) => {
    const check = () => {
      if (seen.completed.length >= expectedCompleted && seen.failed.length >= 1) resolve();
    };
    events.on('completed', check);
    events.on('failed', check);
  });
  worker.run();

  // Well before its delay the delayed job must still be waiting for its time.
  await new Promise((r) => setTimeout(r, DELAY_MS / 3));
  assert.equal(await delayed.getState(), 'delayed', `delayed job state after ${DELAY_MS / 3} ms`);

  await allEvents;
  log('all events received');
  // Let any stray (wrong) extra event arrive before counting exactly.
  await new Promise((r) => setTimeout(r, 300));

  // Return values of the plain jobs.
  for (const [i, job] of addJobs.entries()) {
    const fresh = await queue.getJob(job.id);
    assert.equal(await fresh.getState(), 'completed', `add job ${i} state`);
    assert.equal(fresh.returnvalue, 101 * i, `add job ${i} return value`);
    assert.equal(fresh.attemptsMade, 1, `add job ${i} attemptsMade`);
  }
  assert.ok(peakActive >= 2 && peakActive <= CONCURRENCY, `peak concurrency ${peakActive}`);

  // The flaky job: failed twice, then succeeded on its third and last attempt.
  const flakyDone = await queue.getJob(flaky.id);
  assert.equal(await flakyDone.getState(), 'completed', 'flaky job state');
  assert.equal(flakyDone.returnvalue, 'ok after 3 attempts', 'flaky job return value');
  assert.equal(flakyDone.attemptsMade, 3, 'flaky job attemptsMade');
  assert.deepEqual(attemptsSeen.flaky, [0, 1, 2], 'flaky job attemptsMade seen by the processor');

  // The doomed job: both attempts failed, so it ends in the failed set.
  const doomedDone = await queue.getJob(doomed.id);
  assert.equal(await doomedDone.getState(), 'failed', 'doomed job state');
  assert.equal(doomedDone.failedReason, 'always fails', 'doomed job failedReason');
  assert.equal(doomedDone.attemptsMade, 2, 'doomed job attemptsMade');
  assert.deepEqual(attemptsSeen.doomed, [0, 1], 'doomed job attemptsMade seen by the processor');

  // The delayed job ran, and not before its delay.
  const delayedDone = await queue.getJob(delayed.id);
  assert.equal(await delayedDone.getState(), 'completed', 'delayed job state');
  assert.ok(
    delayedDone.returnvalue.ranAfterMs >= DELAY_MS,
    `delayed job ran after ${delayedDone.returnvalue.ranAfterMs} ms, before its ${DELAY_MS} ms delay`,
  );
  assert.ok(delayedDone.processedOn - delayedDone.timestamp >= DELAY_MS, 'delayed job processedOn');

  // Events: exactly one `completed` per completed job and one `failed` for the exhausted job;
  // a retried attempt is not a `failed` event on the stream, but is one on the worker.
  assert.equal(seen.completed.length, expectedCompleted, 'QueueEvents completed count');
  const completedIds = seen.completed.map((e) => e.jobId).sort();
  const expectedIds = [...addJobs.map((j) => j.id), flaky.id, delayed.id].sort();
  assert.deepEqual(completedIds, expectedIds, 'QueueEvents completed job ids');
  const flakyEvent = seen.completed.find((e) => e.jobId === flaky.id);
  assert.equal(flakyEvent.returnvalue, 'ok after 3 attempts', 'completed event return value');
  assert.deepEqual(seen.failed, [{ jobId: doomed.id, failedReason: 'always fails' }], 'failed events');
  assert.equal(workerFailures, 4, 'worker failed events (2 flaky + 2 doomed attempts)');

  const counts = await queue.getJobCounts('completed', 'failed', 'delayed', 'wait', 'active');
  assert.deepEqual(
    counts,
    { completed: expectedCompleted, failed: 1, delayed: 0, wait: 0, active: 0 },
    'final job counts',
  );

  await worker.close();
  await events.close();
  await queue.obliterate({ force: true });
  await queue.close();
  log(`BullMQ passed: ${expectedCompleted} completed, 1 failed, peak concurrency ${peakActive}`);
}

main().then(
  () => {
    clearTimeout(timer);
    process.exit(0);
  },
  (err) => {
    console.error(`FAILED: ${err.stack || err}`);
    process.exit(1);
  },
);
