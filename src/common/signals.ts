/** SIGTERM and SIGINT both mean "stop cleanly"; `stop` is told which one came. */
export function onSignals(stop: (sig: string) => void): void {
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
