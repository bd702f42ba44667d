// A repeatable event, for loops that wait for "something changed" without a listener per wait.

/** A repeatable event: next() resolves at the next fire(). */
export class Signal {
  #resolve!: () => void;
  #promise = this.#arm();

  #arm(): Promise<void> {
    return new Promise((resolve) => (this.#resolve = resolve));
  }

  /** Resolves at the next fire(). */
  next(): Promise<void> {
    return this.#promise;
  }

  /** Wakes everyone waiting on next(). */
  fire(): void {
    this.#resolve();
    this.#promise = this.#arm();
  }
}
