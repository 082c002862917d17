/**
 * A retry budget per upstream service, after Finagle's RetryBudget: every call deposits
 * `ratio` of a retry, and a reserve refills at `minPerSecond`; a retry spends one. During an
 * outage retries thus add at most `ratio` of the load plus a trickle, instead of multiplying
 * it by the attempt count, while a quiet service can still retry a stray failure.
 */

/** Seconds of the per-second reserve the balance can hold. */
const RESERVE_SECONDS = 10;

export class RetryBudget {
  private balance: number;
  private refilledAt: number;
  private readonly cap: number;

  constructor(
    private readonly ratio: number,
    private readonly minPerSecond: number,
    now = Date.now(),
  ) {
    this.cap = Math.max(1, minPerSecond * RESERVE_SECONDS);
    this.balance = this.cap;
    this.refilledAt = now;
  }

  /** A call was made: it earns `ratio` of a retry. */
  deposit(): void {
    const b = this.balance + this.ratio;
    this.balance = b < this.cap ? b : this.cap;
  }

  /** Spends one retry; false when the budget is spent. */
  withdraw(now = Date.now()): boolean {
    const b = this.balance + ((now - this.refilledAt) / 1000) * this.minPerSecond;
    this.refilledAt = now;
    this.balance = b < this.cap ? b : this.cap;
    // (A hair under 1 counts: five deposits of 0.2 add up to 0.9999999999999999.)
    if (this.balance < 1 - 1e-9) return false;
    this.balance -= 1;
    return true;
  }
}
