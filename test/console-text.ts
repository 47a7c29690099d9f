// A guest console's output as tests read it: text arrives in pieces, and a test waits (bounded)
// until a pattern appears after its previous match. Shared by the CLI session (guest-session.ts),
// the in-process board session (board-session.ts) and the host's console reader (host-helpers.ts).

export class ConsoleText {
  text = '';
  private seen = 0;
  private waiters: (() => void)[] = [];

  /** `ended()` says why no more output can come (the process exited, the board stopped), or
   *  undefined while it may. */
  constructor(private readonly ended: () => string | undefined = () => undefined) {}

  add(piece: string): void {
    this.text += piece;
    this.notify();
  }

  /** Wakes waiters (new output, or the source ended). */
  notify(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Waits until `pattern` appears after the previous match; returns the text up to and including
   *  it. Throws with the console's tail when the time is up or the source ended first. */
  async waitFor(pattern: string | RegExp, timeoutMs = 60000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const rest = this.text.slice(this.seen);
      const m = typeof pattern === 'string' ? (rest.includes(pattern) ? { index: rest.indexOf(pattern), 0: pattern } : null) : pattern.exec(rest);
      if (m) {
        const end = this.seen + m.index + m[0].length;
        const out = this.text.slice(this.seen, end);
        this.seen = end;
        return out;
      }
      const why = this.ended();
      if (why !== undefined) throw new Error(`${why} before "${pattern}"; console tail:\n${this.text.slice(-2000)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for "${pattern}"; console tail:\n${this.text.slice(-2000)}`);
      await new Promise<void>((res) => {
        const t = setTimeout(res, Math.min(left, 1000));
        this.waiters.push(() => { clearTimeout(t); res(); });
      });
    }
  }
}
