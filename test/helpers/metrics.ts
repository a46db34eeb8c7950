/** Reading the HTTP instruments of our programs: a GET, and the exposition text as a map of series to values. */

export async function get(port: number, path: string, method = 'GET'): Promise<{ status: number; body: string; type: string | null }> {
  const once = async () => {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, { method });
    return { status: res.status, body: await res.text(), type: res.headers.get('content-type') };
  };
  try {
    return await once();
  } catch (e) {
    // fetch reuses an idle keep-alive connection; when the server closed it just then, the request never reached
    // the server ("other side closed"), and asking again, as any HTTP client does for a GET, is the remedy.
    if ((e as { cause?: { code?: string } }).cause?.code !== 'UND_ERR_SOCKET') throw e;
    return once();
  }
}

/** `name{labels}` (as written) → value, for every sample line of /metrics. */
export async function scrape(port: number): Promise<Map<string, number>> {
  const { status, body } = await get(port, '/metrics');
  if (status !== 200) throw new Error(`/metrics answered ${status}: ${body}`);
  return parseExposition(body);
}

export function parseExposition(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}
