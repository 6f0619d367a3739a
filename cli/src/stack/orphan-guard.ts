/**
 * Preloaded into every service process the stack starts: the stack holds the other end of the
 * process's stdin, so when the stack goes away for any reason (even SIGKILL) stdin ends and the
 * service stops itself with SIGTERM. No orphans.
 */
process.stdin.on('end', () => process.kill(process.pid, 'SIGTERM'));
process.stdin.on('error', () => process.kill(process.pid, 'SIGTERM'));
process.stdin.resume();
// Reading stdin must not keep a service alive that would otherwise exit.
(process.stdin as unknown as { unref?: () => void }).unref?.();
