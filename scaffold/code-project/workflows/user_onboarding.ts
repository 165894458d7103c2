/**
 * Customer onboarding, written in code: check the registration, create the account, then welcome the
 * user and set up their preferences in parallel.
 */
import { defineTask, PermanentError } from 'tasker-ts';
import { z } from 'zod';
import { requestJson } from './_http.ts';

const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

export const userOnboarding = defineTask({
  namespace: 'customer',
  name: 'user_onboarding',
  version: '1.0.0',
  description: 'Register a new customer.',
  dependentSystem: 'accounts_api',
  contextSchema: z.object({
    email: z.string(),
    name: z.string().min(1),
    plan: z.enum(['free', 'pro']).default('free'),
    api_url: z.string().default('http://127.0.0.1:4010'),
  }),
})
  // Bad input cannot be fixed by retrying: fail the step (and the task) at once.
  .step('validate_registration_data', { retryable: false }, ({ context }) => {
    const email = context.email.trim().toLowerCase();
    if (!EMAIL.test(email)) {
      throw new PermanentError(`"${context.email}" is not an email address`, { code: 'INVALID_EMAIL' });
    }
    return { email, name: context.name.trim() };
  })
  .step('check_duplicate_user', { dependsOn: ['validate_registration_data'] }, ({ context, signal }) =>
    requestJson<{ exists: boolean }>(`${context.api_url}/users?email=${encodeURIComponent(context.email)}`, {
      signal,
    }),
  )
  // The idempotency key keeps a retry after a lost answer from creating a second account.
  .step(
    'create_user_account',
    { dependsOn: ['check_duplicate_user'] },
    ({ context, parents, task, signal }) => {
      if (parents.check_duplicate_user.exists) {
        throw new PermanentError(`a user with email ${context.email} already exists`, {
          code: 'DUPLICATE_USER',
        });
      }
      return requestJson<{ user_id: number }>(`${context.api_url}/users`, {
        method: 'POST',
        headers: { 'idempotency-key': `onboarding-${task.id}` },
        body: { email: context.email, name: context.name, plan: context.plan },
        signal,
      });
    },
  )
  // May be bypassed when the task is created (bypassSteps): its children then see no result.
  .step(
    'send_welcome_email',
    { dependsOn: ['create_user_account'], dependentSystem: 'email_api', skippable: true },
    ({ context, parents, signal }) =>
      requestJson<{ queued: boolean }>(`${context.api_url}/emails`, {
        method: 'POST',
        body: { to: context.email, template: 'welcome', user_id: parents.create_user_account.user_id },
        signal,
      }),
  )
  .step('setup_default_preferences', { dependsOn: ['create_user_account'] }, ({ context, parents }) => ({
    user_id: parents.create_user_account.user_id,
    newsletter: context.plan === 'pro',
    theme: 'light',
  }))
  .step(
    'complete_onboarding',
    { dependsOn: ['send_welcome_email', 'setup_default_preferences'] },
    ({ parents }) => ({
      user_id: parents.setup_default_preferences.user_id,
      welcomed: parents.send_welcome_email !== undefined,
    }),
  )
  .build();
