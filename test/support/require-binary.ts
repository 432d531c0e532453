/**
 * Decides whether a suite that needs a real binary (etcd, dnsmasq, Chromium) runs: skipped with
 * a printed reason without it, except under CI, where a missing binary fails the run instead of
 * hiding it.
 */
export function requireBinary(name: string, present: boolean): boolean {
  if (present) return true;
  const reason = `${name} not found; install it with .ci/install-servers.sh (needs root)`;
  if (process.env.CI) throw new Error(`CI requires ${name}: ${reason}`);
  console.warn(`[skipped] real ${name} suite: ${reason}`);
  return false;
}
