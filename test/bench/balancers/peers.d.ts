// The peer rings ship no types; these are the parts the balancer benchmark uses.
declare module 'hashring' {
  class HashRing {
    constructor(servers: readonly string[] | Record<string, number | { weight?: number; vnodes?: number }>);
    get(key: string): string | undefined;
    range(key: string, size?: number, unique?: boolean): string[];
  }
  export default HashRing;
}

declare module 'consistent-hash' {
  class ConsistentHash {
    constructor(options?: { range?: number; weight?: number; distribution?: 'random' | 'uniform' });
    add(node: string, weight?: number, points?: readonly number[]): this;
    remove(node: string): this;
    get(name: string): string | null;
    get(name: string, count: number): string[] | null;
  }
  export default ConsistentHash;
}
