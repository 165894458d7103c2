/** Step handlers of customer/user_onboarding. */
import { PermanentError, RetryableError, type StepContext } from 'tasker-ts';

const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

/** Bad input cannot be fixed by retrying: fail the step (and the task) at once. */
export function validateRegistrationData({ context }: StepContext) {
  const email = String(context.email).trim().toLowerCase();
  if (!EMAIL.test(email)) {
    throw new PermanentError(`"${context.email}" is not an email address`, { code: 'INVALID_EMAIL' });
  }
  return { email, name: String(context.name).trim() };
}

/**
 * A handler may call other systems itself. Pass `signal` so a timeout or a cancel stops the request, and
 * send an idempotency key so that a retry after a lost response does not create a second account.
 */
export async function createUserAccount({ context, parents, task, signal }: StepContext) {
  const duplicate = parents.check_duplicate_user as { body: { exists: boolean } };
  if (duplicate.body.exists) {
    throw new PermanentError(`a user with email ${context.email} already exists`, { code: 'DUPLICATE_USER' });
  }
  const response = await fetch(`${context.api_url}/users`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': `onboarding-${task.id}` },
    body: JSON.stringify({ email: context.email, name: context.name, plan: context.plan }),
    signal,
  });
  if (response.status >= 500) throw new RetryableError(`accounts API answered ${response.status}`);
  if (!response.ok) throw new PermanentError(`accounts API answered ${response.status}`);
  return (await response.json()) as { user_id: number };
}

export function setupDefaultPreferences({ context, parents }: StepContext) {
  const account = parents.create_user_account as { user_id: number };
  return { user_id: account.user_id, newsletter: context.plan === 'pro', theme: 'light' };
}

export function completeOnboarding({ parents }: StepContext) {
  const account = parents.setup_default_preferences as { user_id: number };
  return { user_id: account.user_id, welcomed: parents.send_welcome_email !== undefined };
}
