/** Waiting for conditions, never for fixed times. */

/** True once `check` holds, false if it still does not after `timeoutMs`. */
export async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs = 10_000, stepMs = 50): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return check();
}

/** Resolves once `check` holds; rejects naming `what` (and what `describe` says of the state) after `timeoutMs`. */
export async function until(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 10_000,
  describe?: () => string | Promise<string>,
): Promise<void> {
  if (!(await waitFor(check, timeoutMs, 20))) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${describe ? `: ${await describe()}` : ''}`);
}
