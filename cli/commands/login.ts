// `holdfast login`, `whoami`, `logout`, `user create` and `user totp enable`. The session token of a
// login is kept in the user's config (sessionFile, mode 0600) and used before the admin token;
// passwords are read from standard input only, never from the command line (a one-time code, used
// once and stale in a minute, may be).
import { chmod, mkdir, open, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { HoldfastError } from '../../core/errors.js';
import { API_VERSION } from '../../core/resource.js';
import { ApiError } from '../client.js';
import { sessionFile } from '../config.js';
import { EXIT_OK, type CommandContext } from '../context.js';

async function passwordFromStdin(flags: { passwordStdin?: boolean }): Promise<string> {
  if (!flags.passwordStdin) throw new HoldfastError('BadRequest', 'pass the password on standard input with --password-stdin');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

export type SessionAnswer = { user: string; expiresAt: string; token: string };

export async function runLogin(ctx: CommandContext, username: string, flags: { passwordStdin?: boolean; totp?: string }): Promise<number> {
  const password = await passwordFromStdin(flags);
  const client = await ctx.client();
  const signIn = async (totp?: string) =>
    (await client.request({ method: 'POST', path: '/auth/login', body: { username, password, totp, sessionInBody: true }, signIn: true })) as SessionAnswer;
  let session: SessionAnswer;
  try {
    session = await signIn(flags.totp);
  } catch (err) {
    if (!(err instanceof ApiError && err.httpStatus === 401 && err.causes.some((c) => c.field === 'totp' && c.reason === 'FieldValueRequired'))) throw err;
    // The password was right and the user has a second factor: ask for the code at the terminal, once.
    const code = await askAtTerminal('One-time code: ');
    if (code === undefined) {
      throw new HoldfastError('Unauthorized', `user "${username}" has a second factor: pass the one-time code of your authenticator app with --totp CODE`);
    }
    session = await signIn(code);
  }
  await keepSession(ctx, session);
  return EXIT_OK;
}

/** Keeps a new session in the user's config (0600), where later commands find it. */
export async function keepSession(ctx: CommandContext, session: SessionAnswer): Promise<void> {
  const file = sessionFile();
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  await writeFile(file, `${session.token}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
  ctx.err(`signed in as ${session.user} until ${session.expiresAt} (session kept in ${file})\n`);
}

/** Asks on the controlling terminal (standard input holds the password); undefined when no one is there to answer. */
async function askAtTerminal(question: string): Promise<string | undefined> {
  if (!process.stderr.isTTY) return undefined;
  let tty: FileHandle;
  try {
    tty = await open('/dev/tty', 'r+');
  } catch {
    return undefined;
  }
  const rl = createInterface({ input: tty.createReadStream({ autoClose: false }), output: tty.createWriteStream({ autoClose: false }) });
  try {
    return (await rl.question(question)).trim();
  } finally {
    rl.close();
    await tty.close();
  }
}

export async function runWhoami(ctx: CommandContext): Promise<number> {
  const client = await ctx.client();
  const review = (await client.request({ method: 'GET', path: '/auth/whoami' })) as { status: { userInfo: { username: string; groups: string[] } } };
  const { username, groups } = review.status.userInfo;
  ctx.out(`${username}${groups.length ? ` (groups: ${groups.join(', ')})` : ''}\n`);
  return EXIT_OK;
}

export async function runLogout(ctx: CommandContext, flags: { everywhere?: boolean }): Promise<number> {
  const client = await ctx.client();
  await client.request({ method: 'POST', path: '/auth/logout', body: { everywhere: flags.everywhere === true } });
  await rm(sessionFile(), { force: true });
  ctx.err(flags.everywhere ? 'signed out everywhere\n' : 'signed out\n');
  return EXIT_OK;
}

export async function runUserCreate(ctx: CommandContext, name: string, flags: { admin?: boolean; passwordStdin?: boolean }): Promise<number> {
  const password = await passwordFromStdin(flags);
  const client = await ctx.client();
  await client.request({ method: 'POST', path: `/apis/${API_VERSION}/users`, body: { name, password, admin: flags.admin === true } });
  ctx.err(`user "${name}" created${flags.admin ? ' (admin on the whole control plane)' : ': bind it to a role to let it do anything'}\n`);
  return EXIT_OK;
}

export async function runUserTotpEnable(ctx: CommandContext, name: string): Promise<number> {
  const client = await ctx.client();
  const enrolment = (await client.request({ method: 'POST', path: `/apis/${API_VERSION}/users/${encodeURIComponent(name)}/totp` })) as { secret: string; uri: string };
  ctx.out(`${enrolment.uri}\n`);
  ctx.err(
    `second factor enabled for "${name}": add the URI above (or the secret ${enrolment.secret}) to an authenticator app; it is shown only this once, and sign-in now asks for a code\n`,
  );
  return EXIT_OK;
}
