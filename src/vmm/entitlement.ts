// Who gives memory back when the host is short (issue #9), as ESX decides it: each VM's claim is
// its shares per page it holds, and pages the guest has not used lately count more (the idle
// memory tax): ρ = S / (P · (f + k·(1 − f))), f the VM's active fraction, k = 1 / (1 − τ) for a
// tax rate τ (ESX's default 75%: an idle page costs 4 times an active one). Pages are taken from
// the VM with the lowest ρ first, never below its reservation.
// (Waldspurger, "Memory Resource Management in VMware ESX Server", OSDI 2002, section 5.)

export interface Claim {
  /** Pages it holds now (or may hold: its present pages, at most its limit). */
  pages: number;
  reservation: number;
  shares: number;
  /** Fraction of its pages used in the last aging period; null: not measured (taken as 1). */
  active: number | null;
}

/** The pages each claim keeps after `excess` pages are taken from the lowest ρ first (in chunks,
 *  so the loop is short; ρ is recomputed after each). Fewer are taken when the reservations
 *  leave no more. */
export function entitlements(claims: Claim[], excess: number, idleTaxPct: number): number[] {
  const pages = claims.map((c) => Math.max(c.pages, 0));
  const k = 1 / (1 - Math.min(Math.max(idleTaxPct, 0), 99) / 100);
  const chunk = Math.max(256, Math.ceil(excess / 64));
  while (excess > 0) {
    let best = -1, bestRho = Infinity;
    for (let i = 0; i < claims.length; i++) {
      const c = claims[i]!;
      if (pages[i]! <= c.reservation) continue;
      const f = c.active ?? 1;
      const rho = c.shares / (pages[i]! * (f + k * (1 - f)));
      if (rho < bestRho) {
        bestRho = rho;
        best = i;
      }
    }
    if (best < 0) break;
    const take = Math.min(chunk, pages[best]! - claims[best]!.reservation, excess);
    pages[best]! -= take;
    excess -= take;
  }
  return pages;
}
