/**
 * socat's variables about an accepted connection (SOCKADDR, PEERPORT, …),
 * named after the program name (-lp). tsocat's own default name keeps socat's
 * SOCAT_ prefix so scripts work unchanged.
 */
export function connectionEnvironment(program: string, info: Record<string, string> | undefined): Record<string, string> {
  const prefix = program === 'tsocat' ? 'SOCAT' : program.toUpperCase();
  return Object.fromEntries(Object.entries(info ?? {}).map(([k, v]) => [`${prefix}_${k}`, v]));
}
