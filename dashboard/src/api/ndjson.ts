// Splits a byte stream into lines (the watch stream is newline-delimited JSON; the deployment log is
// plain text). Pure over its input so it can be tested without a network.

export async function* readLines(body: ReadableStream<Uint8Array>, signal?: AbortSignal): AsyncGenerator<string> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const onAbort = () => void reader.cancel().catch(() => {});
  signal?.addEventListener('abort', onAbort, { once: true });
  let buffered = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffered += decoder.decode(value, { stream: true });
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        yield line;
      }
    }
    buffered += decoder.decode();
    if (buffered) yield buffered;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    // Cancelling (not just releasing) closes the connection when the consumer stops early.
    void reader.cancel().catch(() => {});
  }
}
