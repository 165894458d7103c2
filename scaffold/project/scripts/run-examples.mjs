// Runs the three example workflows once each, on an in-memory database, against the stand-in API that
// this script starts itself. `npm run examples`; exits non-zero if any of them does not complete.
import { createTasker, loadConfig, loadWorkflows, registerWorkflows } from 'tasker-ts';
import { startStandInApi } from './stand-in-api.mjs';

const api = await startStandInApi();
const config = await loadConfig();
const tasker = await createTasker({ ...config.taskerOptions, database: { inMemory: true } });
let failed = 0;
try {
  registerWorkflows(tasker, await loadWorkflows({ ...config.workflows }));
  const requests = [
    {
      namespace: 'ecommerce',
      name: 'order_processing',
      context: { cart_id: 2, customer_email: 'alan@example.com', discount_percent: 10, api_url: api.url },
    },
    { namespace: 'inventory', name: 'stock_management', context: { warehouse: 'north', api_url: api.url } },
    {
      namespace: 'customer',
      name: 'user_onboarding',
      context: { email: 'grace@example.com', name: 'Grace', plan: 'pro', api_url: api.url },
    },
  ];
  const created = await tasker.createTasks(requests);
  await tasker.startWorker();
  for (const task of created) {
    const done = await tasker.waitForTask(task.id, { timeoutMs: 60_000 });
    if (done.state !== 'complete') failed += 1;
    console.log(`${done.namespace}/${done.name}@${done.version}: ${done.state}`);
    for (const step of done.steps) {
      console.log(
        `  ${step.state === 'complete' ? '✓' : '✗'} ${step.name} ${JSON.stringify(step.results ?? step.lastError?.message)}`,
      );
    }
  }
} finally {
  await tasker.close();
  await api.close();
}
process.exitCode = failed === 0 ? 0 : 1;
