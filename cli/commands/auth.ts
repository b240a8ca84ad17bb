// `holdfast auth can-i VERB RESOURCE [NAME] [-n PROJECT] [--as SUBJECT]`: kubectl's answer (yes or no
// on stdout, exit 0 or 1), from the server's own decision (an access review), so it cannot disagree
// with what the API enforces.
import { API_VERSION } from '../../core/resource.js';
import { EXIT_ERROR, EXIT_OK, type CommandContext } from '../context.js';

export async function runCanI(ctx: CommandContext, verb: string, resource: string, name: string | undefined, flags: { as?: string }): Promise<number> {
  // `services/web` reads as resource services, name web, as kubectl accepts.
  const [plural, slashName] = resource.split('/', 2);
  const resourceAttributes = { verb, resource: plural, ...(ctx.namespace ? { namespace: ctx.namespace } : {}), ...((name ?? slashName) ? { name: name ?? slashName } : {}) };
  const client = await ctx.client();
  const review = (await client.request({
    method: 'POST',
    path: `/apis/${API_VERSION}/${flags.as ? 'subjectaccessreviews' : 'selfsubjectaccessreviews'}`,
    body: { apiVersion: API_VERSION, kind: flags.as ? 'SubjectAccessReview' : 'SelfSubjectAccessReview', spec: { ...(flags.as ? { user: flags.as } : {}), resourceAttributes } },
  })) as { status: { allowed: boolean; reason?: string } };
  ctx.out(review.status.allowed ? 'yes\n' : 'no\n');
  if (!review.status.allowed && review.status.reason) ctx.err(`${review.status.reason}\n`);
  return review.status.allowed ? EXIT_OK : EXIT_ERROR;
}
