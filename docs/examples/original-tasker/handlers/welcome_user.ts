/** Step handlers for templates/welcome_user.yaml: WelcomeUser::StepHandler::... as a nested export. */
import { PermanentError, type StepContext } from 'tasker-ts';

export const WelcomeUser = {
  StepHandler: {
    ValidateUserHandler({ context }: StepContext) {
      const userId = context.user_id as number;
      if (userId <= 0) throw new PermanentError(`no user ${userId}`, { code: 'NO_USER' });
      return { user_id: userId, email: `user${userId}@example.com` };
    },
    GenerateContentHandler({ parents }: StepContext) {
      const { email } = parents.validate_user as { email: string };
      return { to: email, subject: 'Welcome!' };
    },
    SendEmailHandler({ parents }: StepContext) {
      const { to } = parents.generate_content as { to: string };
      return { delivered_to: to };
    },
  },
};
