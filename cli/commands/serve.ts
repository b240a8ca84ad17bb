// `holdfast serve`: runs the API server. Loaded on demand, so client commands never pull in
// express and the store. Unset flags stay unset: the server resolves them (flags → env → defaults).
export interface ServeFlags {
  dataDir?: string;
  listen?: string;
  logLevel?: string;
  tlsCertFile?: string;
  tlsKeyFile?: string;
}

export async function runServe(flags: ServeFlags): Promise<void> {
  const { serve } = await import('../../api/serve.js');
  await serve({
    dataDir: flags.dataDir,
    listen: flags.listen,
    logLevel: flags.logLevel,
    tlsCertFile: flags.tlsCertFile,
    tlsKeyFile: flags.tlsKeyFile,
    databaseUrl: process.env.DATABASE_URL || undefined,
  });
}
