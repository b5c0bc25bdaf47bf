// The nodes of one Vault cluster as the client sees them: which one leads, which ones are failing
// (a circuit breaker per node), and how long to wait before the next round (exponential backoff
// with full jitter). Pure bookkeeping: the client does the I/O and reports what happened.

export interface BreakerOptions {
  /** Consecutive failures that open a node's breaker. */
  failureThreshold: number;
  /** How long an open breaker keeps requests away from the node before one trial request. */
  openMs: number;
}

export interface BackoffOptions {
  baseMs: number;
  capMs: number;
}

type BreakerState = 'closed' | 'open' | 'half-open';

interface NodeState {
  address: string;
  failures: number;
  state: BreakerState;
  openedAt: number;
  trialInFlight: boolean;
}

export class ClusterNodes {
  readonly addresses: readonly string[];
  readonly #nodes: NodeState[];
  readonly #breaker: BreakerOptions;
  #leader: string | undefined;
  #next = 0;
  readonly #now: () => number;

  constructor(addresses: string[], breaker: BreakerOptions, now: () => number = Date.now) {
    if (addresses.length === 0) throw new Error('a Vault cluster needs at least one node address');
    this.addresses = addresses.map(normalize);
    this.#nodes = this.addresses.map((address) => ({
      address,
      failures: 0,
      state: 'closed',
      openedAt: 0,
      trialInFlight: false,
    }));
    this.#breaker = breaker;
    this.#now = now;
  }

  get leader(): string | undefined {
    return this.#leader;
  }

  /** Records the leader that a node reported (sys/leader), if it is one of ours. */
  setLeader(address: string | null | undefined): void {
    const normalized = address ? normalize(address) : undefined;
    this.#leader = normalized && this.addresses.includes(normalized) ? normalized : undefined;
  }

  /**
   * The order in which to try nodes for one round: the leader first (standbys would forward to it
   * anyway), then the others in rotation, skipping nodes whose breaker is open. A half-open node
   * gets a single trial request, listed in `trials`: the caller reports how the trial went, or
   * releases it when the round ended without trying that node (an earlier node answered), so the
   * recovered node is offered again next round instead of staying half-open for good. Breakers
   * keep traffic off a failing node while others work; when none is admitted (the whole cluster
   * is failing over), every node is tried and the caller's backoff paces the retries instead.
   */
  startRound(): { order: string[]; trials: string[] } {
    const rotation = this.addresses.map(
      (_, i) => this.addresses[(this.#next + i) % this.addresses.length] as string,
    );
    this.#next = (this.#next + 1) % this.addresses.length;
    const ordered = this.#leader ? [this.#leader, ...rotation.filter((a) => a !== this.#leader)] : rotation;
    const trials: string[] = [];
    const admitted = ordered.filter((address) => {
      const node = this.#node(address);
      const admits = this.#admits(node);
      if (admits && node.state === 'half-open') trials.push(address);
      return admits;
    });
    return { order: admitted.length > 0 ? admitted : ordered, trials };
  }

  /** The order of one round, for callers that report every node they are given. */
  roundOrder(): string[] {
    return this.startRound().order;
  }

  /** Hands back a half-open trial that was never made; no-op if it was reported. */
  release(address: string): void {
    const node = this.#node(address);
    if (node.state === 'half-open') node.trialInFlight = false;
  }

  #node(address: string): NodeState {
    return this.#nodes.find((n) => n.address === address) as NodeState;
  }

  #admits(node: NodeState): boolean {
    if (node.state === 'closed') return true;
    if (node.state === 'open' && this.#now() - node.openedAt >= this.#breaker.openMs) {
      node.state = 'half-open';
      node.trialInFlight = false;
    }
    if (node.state === 'half-open' && !node.trialInFlight) {
      node.trialInFlight = true;
      return true;
    }
    return false;
  }

  succeeded(address: string): void {
    const node = this.#node(address);
    node.failures = 0;
    node.state = 'closed';
    node.trialInFlight = false;
  }

  failed(address: string): void {
    const node = this.#node(address);
    node.failures += 1;
    if (address === this.#leader) this.#leader = undefined;
    if (node.state === 'half-open' || node.failures >= this.#breaker.failureThreshold) {
      node.state = 'open';
      node.openedAt = this.#now();
      node.trialInFlight = false;
    }
  }

  breakerState(address: string): BreakerState {
    return this.#node(normalize(address)).state;
  }
}

/** Full jitter (AWS architecture blog): a uniform wait in [0, min(cap, base * 2^attempt)). */
export function fullJitterDelay(
  attempt: number,
  options: BackoffOptions,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(options.capMs, options.baseMs * 2 ** attempt);
  return Math.floor(random() * ceiling);
}

function normalize(address: string): string {
  return address.replace(/\/+$/, '');
}
