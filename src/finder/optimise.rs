//! The solution finder's optimiser: the best subsidised bundles of packages for an SME's needs,
//! budget and remaining cap. Pure; no I/O.
//!
//! A bundle holds at most one package per need (a need is a category). Its subsidy is allocated
//! as the matching engine would if the SME applied for its packages cheapest first: each gets
//! the lesser of its own matched subsidy and what is left of the cap, so the bundle's subsidy is
//! `min(Σ matched, cap)`; the SME pays the rest of the eligible cost, and that must stay within
//! its budget.
//!
//! Bundles rank lexicographically (best first): needs covered, weighted by the order they were
//! given (more needs first, then the earlier needs); more subsidy; less for the SME to pay; the
//! longest-listed packages (the bundle's newest listing earlier); then package ids. The answer is
//! the first `k` bundles in that order that no feasible bundle dominates (at least as good on
//! needs, subsidy and what the SME pays, and better on one).
//!
//! The search is exact. Per subset of needs, best-first in weight, a depth-first branch and
//! bound chooses a package per need: a branch stops when even its cheapest completion would
//! exceed the budget, or its subsidy could not reach the `k`-th best found. At the last need
//! the packages are sorted by cost, and both the subsidy and what the SME pays grow with the
//! cost, so the feasible ones are a prefix and the best of them are found by binary search
//! instead of by trying each.

use std::cmp::Reverse;

use chrono::NaiveDateTime;

/// A package that meets one need, priced by default (no add-ons, the minimum term).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub package_id: String,
    /// Eligible cost, in cents.
    pub cost: i64,
    /// The subsidy this package alone would get with the whole per-SME cap left, in cents: at
    /// most `cost`, and non-decreasing in `cost` among one need's candidates (the matching
    /// ratio and the per-SME cap applied to the cost).
    pub matched: i64,
    pub listed_at: NaiveDateTime,
}

/// The SME's limits, in cents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// What is left of the SME's cap.
    pub remaining_cap: i64,
    /// The most the SME will pay itself, for the whole bundle.
    pub budget: i64,
}

/// One package of a bundle, with its share of the subsidy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pick {
    /// The index of the need it meets.
    pub need: usize,
    /// The index of the candidate among that need's.
    pub candidate: usize,
    pub cost: i64,
    pub subsidy: i64,
    pub sme_pays: i64,
}

/// A bundle, its picks in the order of the needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bundle {
    pub picks: Vec<Pick>,
    pub cost: i64,
    pub subsidy: i64,
    pub sme_pays: i64,
    /// The latest `listed_at` of its packages.
    pub newest_listing: NaiveDateTime,
    /// The ranking weight of the needs it covers.
    pub weight: u64,
}

/// The most needs a search takes.
pub const MAX_NEEDS: usize = 8;

/// The weight of covering the needs in `covered` (indices into `n` needs, given in order of
/// importance): the count first, then the earlier needs.
pub fn weight(covered: &[usize], n: usize) -> u64 {
    let order: u64 = covered.iter().map(|&i| 1u64 << (n - 1 - i)).sum();
    ((covered.len() as u64) << n) | order
}

/// The bundle's sort key: ascending is best first.
type Key = (Reverse<u64>, Reverse<i64>, i64, NaiveDateTime, Vec<String>);

fn key(b: &Bundle, needs: &[Vec<Candidate>]) -> Key {
    let mut ids: Vec<String> = b
        .picks
        .iter()
        .map(|p| needs[p.need][p.candidate].package_id.clone())
        .collect();
    ids.sort();
    (
        Reverse(b.weight),
        Reverse(b.subsidy),
        b.sme_pays,
        b.newest_listing,
        ids,
    )
}

/// Whether `a` dominates `b`: at least as good for the SME on needs covered, subsidy and what
/// it pays, and better on one. (How long the packages have been listed only orders ties.)
pub fn dominates(a: &Bundle, b: &Bundle) -> bool {
    let ge = a.weight >= b.weight && a.subsidy >= b.subsidy && a.sme_pays <= b.sme_pays;
    let gt = a.weight > b.weight || a.subsidy > b.subsidy || a.sme_pays < b.sme_pays;
    ge && gt
}

/// The bundle of `picks` (need, candidate), allocated cheapest first; `None` if the SME would
/// pay more than its budget.
pub fn bundle_of(
    needs: &[Vec<Candidate>],
    limits: Limits,
    picks: &[(usize, usize)],
) -> Option<Bundle> {
    let mut order: Vec<&(usize, usize)> = picks.iter().collect();
    order.sort_by(|a, b| {
        let (ca, cb) = (&needs[a.0][a.1], &needs[b.0][b.1]);
        ca.cost
            .cmp(&cb.cost)
            .then_with(|| ca.package_id.cmp(&cb.package_id))
    });
    let mut left = limits.remaining_cap.max(0);
    let mut allocated: Vec<Pick> = Vec::with_capacity(picks.len());
    for &&(need, candidate) in &order {
        let c = &needs[need][candidate];
        let subsidy = c.matched.min(left).max(0);
        left -= subsidy;
        allocated.push(Pick {
            need,
            candidate,
            cost: c.cost,
            subsidy,
            sme_pays: c.cost - subsidy,
        });
    }
    allocated.sort_by_key(|p| p.need);
    let cost: i64 = allocated.iter().map(|p| p.cost).sum();
    let subsidy: i64 = allocated.iter().map(|p| p.subsidy).sum();
    let sme_pays = cost - subsidy;
    if sme_pays > limits.budget {
        return None;
    }
    let covered: Vec<usize> = allocated.iter().map(|p| p.need).collect();
    Some(Bundle {
        newest_listing: picks
            .iter()
            .map(|&(n, c)| needs[n][c].listed_at)
            .max()
            .unwrap_or(NaiveDateTime::MIN),
        weight: weight(&covered, needs.len()),
        picks: allocated,
        cost,
        subsidy,
        sme_pays,
    })
}

/// The best `want` bundles, each one a feasible bundle that no other feasible bundle dominates,
/// best first. `needs[i]` are the candidates for the i-th need, in order of importance.
pub fn best_bundles(needs: &[Vec<Candidate>], limits: Limits, want: usize) -> Vec<Bundle> {
    if want == 0 || needs.is_empty() || needs.len() > MAX_NEEDS {
        return Vec::new();
    }
    // Any dominating bundle ranks above the one it dominates, and domination is transitive:
    // walking the ranking, a bundle is undominated exactly when none of the undominated ones
    // before it dominates it. Search for more of the ranking until `want` are found.
    let mut k = want * 4;
    loop {
        let ranked = top_k(needs, limits, k);
        let mut front: Vec<Bundle> = Vec::new();
        for b in &ranked {
            if !front.iter().any(|f| dominates(f, b)) {
                front.push(b.clone());
                if front.len() == want {
                    return front;
                }
            }
        }
        if ranked.len() < k {
            return front;
        }
        k *= 4;
    }
}

/// One need's candidates in the order the search uses: by cost, then the longest listed, then
/// id.
fn sorted(needs: &[Vec<Candidate>]) -> Vec<Vec<usize>> {
    needs
        .iter()
        .map(|cands| {
            let mut idx: Vec<usize> = (0..cands.len()).collect();
            idx.sort_by(|&a, &b| {
                let (x, y) = (&cands[a], &cands[b]);
                x.cost
                    .cmp(&y.cost)
                    .then(x.listed_at.cmp(&y.listed_at))
                    .then_with(|| x.package_id.cmp(&y.package_id))
            });
            idx
        })
        .collect()
}

/// The best `k` feasible bundles, best first.
pub fn top_k(needs: &[Vec<Candidate>], limits: Limits, k: usize) -> Vec<Bundle> {
    let n = needs.len();
    let order = sorted(needs);
    let mut subsets: Vec<Vec<usize>> = (1u32..(1u32 << n))
        .map(|mask| (0..n).filter(|i| mask & (1 << i) != 0).collect::<Vec<_>>())
        .filter(|s: &Vec<usize>| s.iter().all(|&i| !needs[i].is_empty()))
        .collect();
    subsets.sort_by_key(|s| Reverse(weight(s, n)));
    let mut search = Search {
        needs,
        order: &order,
        limits,
        k,
        best: Vec::new(),
    };
    for subset in subsets {
        let w = weight(&subset, n);
        if search.best.len() == k && search.best.last().is_some_and(|(_, b)| b.weight > w) {
            break;
        }
        let max_matched: Vec<i64> = subset
            .iter()
            .map(|&i| needs[i].iter().map(|c| c.matched).max().unwrap_or(0))
            .collect();
        let min_cost: Vec<i64> = subset
            .iter()
            .map(|&i| needs[i].iter().map(|c| c.cost).min().unwrap_or(0))
            .collect();
        let mut picks = Vec::with_capacity(subset.len());
        let floor = NaiveDateTime::MIN;
        search.descend(
            &subset,
            w,
            &max_matched,
            &min_cost,
            0,
            0,
            0,
            floor,
            &mut picks,
        );
    }
    search.best.into_iter().map(|(_, b)| b).collect()
}

struct Search<'a> {
    needs: &'a [Vec<Candidate>],
    order: &'a [Vec<usize>],
    limits: Limits,
    k: usize,
    /// The best found so far, best first, at most `k`.
    best: Vec<(Key, Bundle)>,
}

impl Search<'_> {
    fn offer(&mut self, picks: &[(usize, usize)]) {
        let Some(b) = bundle_of(self.needs, self.limits, picks) else {
            return;
        };
        let key = key(&b, self.needs);
        if self.best.len() == self.k && self.best.last().is_some_and(|(worst, _)| &key >= worst) {
            return;
        }
        let at = self.best.partition_point(|(k, _)| k < &key);
        self.best.insert(at, (key, b));
        self.best.truncate(self.k);
    }

    /// Whether a bundle of `weight` with at most `subsidy`, at least `pays` and a newest
    /// listing no earlier than `newest` could still enter the best `k`.
    fn could_enter(&self, weight: u64, subsidy: i64, pays: i64, newest: NaiveDateTime) -> bool {
        match self.best.last() {
            Some((_, worst)) if self.best.len() == self.k => {
                (Reverse(weight), Reverse(subsidy), pays, newest)
                    <= (
                        Reverse(worst.weight),
                        Reverse(worst.subsidy),
                        worst.sme_pays,
                        worst.newest_listing,
                    )
            }
            _ => true,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn descend(
        &mut self,
        subset: &[usize],
        weight: u64,
        max_matched: &[i64],
        min_cost: &[i64],
        level: usize,
        matched: i64,
        cost: i64,
        newest: NaiveDateTime,
        picks: &mut Vec<(usize, usize)>,
    ) {
        let cap = self.limits.remaining_cap.max(0);
        let rest_cost: i64 = min_cost[level..].iter().sum();
        // What the SME pays never falls as packages are added (each pays at least its cost
        // less its matched subsidy), and the subsidy never exceeds the cap.
        let pays_floor = (cost - matched.min(cap)).max(cost + rest_cost - cap);
        if pays_floor > self.limits.budget {
            return;
        }
        let ceiling = (matched + max_matched[level..].iter().sum::<i64>()).min(cap);
        if !self.could_enter(weight, ceiling, pays_floor, newest) {
            return;
        }
        let need = subset[level];
        let order = &self.order[need];
        if level + 1 < subset.len() {
            for &c in order {
                let cand = &self.needs[need][c];
                picks.push((need, c));
                self.descend(
                    subset,
                    weight,
                    max_matched,
                    min_cost,
                    level + 1,
                    matched + cand.matched,
                    cost + cand.cost,
                    newest.max(cand.listed_at),
                    picks,
                );
                picks.pop();
            }
            return;
        }
        // The last need. Along `order` (by cost) the bundle's subsidy min(matched + m, cap) and
        // what the SME pays both grow, so the feasible candidates are a prefix; among them the
        // ones reaching the cap rank by cost ascending, above the others by matched descending.
        let cands = &self.needs[need];
        let pays = |c: &Candidate| cost + c.cost - (matched + c.matched).min(cap);
        let feasible = order.partition_point(|&c| pays(&cands[c]) <= self.limits.budget);
        let reach = order[..feasible].partition_point(|&c| matched + cands[c].matched < cap);
        // Each part is walked best first, so the walk stops at the first bundle that could
        // not enter (ties on subsidy and pays are all offered: the later criteria decide).
        let mut tried = 0;
        let mut last_cost = None;
        for &c in &order[reach..feasible] {
            let cand = &cands[c];
            if (tried >= self.k && last_cost != Some(cand.cost))
                || !self.could_enter(weight, cap, pays(cand), newest)
            {
                return;
            }
            tried += 1;
            last_cost = Some(cand.cost);
            if self.could_enter(weight, cap, pays(cand), newest.max(cand.listed_at)) {
                picks.push((need, c));
                self.offer(picks);
                picks.pop();
            }
        }
        // Below the cap: groups of equal matched subsidy, the largest first; within a group
        // the cheapest pays least.
        let below = &order[..reach];
        let mut end = below.len();
        while end > 0 && tried < self.k {
            let m = cands[below[end - 1]].matched;
            let start = below[..end].partition_point(|&c| cands[c].matched < m);
            if !self.could_enter(weight, matched + m, pays(&cands[below[start]]), newest) {
                return;
            }
            for &c in &below[start..end] {
                tried += 1;
                let cand = &cands[c];
                if self.could_enter(weight, matched + m, pays(cand), newest.max(cand.listed_at)) {
                    picks.push((need, c));
                    self.offer(picks);
                    picks.pop();
                }
            }
            end = start;
        }
    }
}

#[cfg(test)]
mod tests;
