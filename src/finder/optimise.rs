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
//! given (more needs first, then the earlier needs); more subsidy; less for the SME to pay; then
//! the longest-listed packages (the bundle's newest listing earlier, then its next newest, and
//! so on, with package ids breaking ties). The answer is the first `k` bundles in that order that
//! no feasible bundle dominates (at least as good on needs, subsidy and what the SME pays, and
//! better on one), taking one bundle of each alike (equal in needs, subsidy and what the SME
//! pays): five ways to spend the same money are one choice, not five.
//!
//! The search is exact. Subsets of needs are taken best-first in weight. Within a subset, a
//! dynamic programme over its needs but the last keeps one partial bundle per (cost, matched)
//! sum, the longest listed, and drops those whose cheapest completion would exceed the budget;
//! the last need is then searched, not expanded: each partial bundle's completions come in
//! ranking order from a binary search along the last need's candidates, merged through a heap,
//! until enough undominated bundles are found. Each candidate's matched subsidy must follow
//! from its cost, not fall as its cost grows, nor grow faster than its cost (true of any
//! matching ratio up to 1:1, rounded to the cent, under a cap).

use std::cmp::Reverse;
use std::collections::hash_map::Entry;
use std::collections::{BinaryHeap, HashMap};

use chrono::NaiveDateTime;

/// A package that meets one need, priced by default (no add-ons, the minimum term).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub package_id: String,
    /// Eligible cost, in cents.
    pub cost: i64,
    /// The subsidy this package alone would get with the whole per-SME cap left, in cents: at
    /// most `cost`; among one need's candidates a function of `cost` (equal costs, equal
    /// matched), and neither it nor `cost - matched` falls as `cost` grows: the matching
    /// ratio and the per-SME cap applied to the cost.
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

/// The bundle's sort key: ascending is best first. After needs, subsidy and what the SME pays,
/// its packages' listings newest first, (listed_at, package id), compared in turn: the bundle
/// whose newest listing is older ranks higher, and so on down its packages.
#[cfg(test)]
type Key = (
    Reverse<u64>,
    Reverse<i64>,
    i64,
    Vec<(NaiveDateTime, String)>,
);

#[cfg(test)]
fn key(b: &Bundle, needs: &[Vec<Candidate>]) -> Key {
    let mut listing: Vec<(NaiveDateTime, String)> = b
        .picks
        .iter()
        .map(|p| {
            let c = &needs[p.need][p.candidate];
            (c.listed_at, c.package_id.clone())
        })
        .collect();
    listing.sort_by(|a, b| b.cmp(a));
    (Reverse(b.weight), Reverse(b.subsidy), b.sme_pays, listing)
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
/// best first, and no two alike in needs, subsidy and what the SME pays (of those, the one
/// whose packages have been listed longest). `needs[i]` are the candidates for the i-th need, in
/// order of importance.
pub fn best_bundles(needs: &[Vec<Candidate>], limits: Limits, want: usize) -> Vec<Bundle> {
    if want == 0 || needs.is_empty() || needs.len() > MAX_NEEDS {
        return Vec::new();
    }
    let n = needs.len();
    let ranks = listing_ranks(needs);
    let reps: Vec<Vec<usize>> = needs
        .iter()
        .enumerate()
        .map(|(i, cands)| representatives(cands, &ranks[i]))
        .collect();
    let mut subsets: Vec<Vec<usize>> = (1u32..(1u32 << n))
        .map(|mask| (0..n).filter(|i| mask & (1 << i) != 0).collect::<Vec<_>>())
        .filter(|s: &Vec<usize>| s.iter().all(|&i| !needs[i].is_empty()))
        .collect();
    subsets.sort_by_key(|s| Reverse(weight(s, n)));
    // Subsets in ranking order, and each subset's bundles in ranking order: a bundle is
    // undominated exactly when none of the undominated ones before it dominates it (any bundle
    // dominating it ranks above it, and domination is transitive).
    let mut front: Vec<Bundle> = Vec::new();
    for subset in subsets {
        for state in Finals::new(needs, &reps, &ranks, &subset, limits) {
            let Some(b) = bundle_of(needs, limits, &state.picks(&subset)) else {
                continue;
            };
            let alike =
                |f: &Bundle| (f.weight, f.subsidy, f.sme_pays) == (b.weight, b.subsidy, b.sme_pays);
            if !front.iter().any(|f| dominates(f, &b) || alike(f)) {
                front.push(b);
                if front.len() == want {
                    return front;
                }
            }
        }
    }
    front
}

/// Each candidate's rank in order of listing, the longest listed first (ties by package id):
/// `ranks[need][candidate]`.
fn listing_ranks(needs: &[Vec<Candidate>]) -> Vec<Vec<u32>> {
    let mut all: Vec<(usize, usize)> = needs
        .iter()
        .enumerate()
        .flat_map(|(n, cands)| (0..cands.len()).map(move |c| (n, c)))
        .collect();
    all.sort_by(|&(na, ca), &(nb, cb)| {
        let (a, b) = (&needs[na][ca], &needs[nb][cb]);
        a.listed_at
            .cmp(&b.listed_at)
            .then_with(|| a.package_id.cmp(&b.package_id))
    });
    let mut ranks: Vec<Vec<u32>> = needs.iter().map(|c| vec![0; c.len()]).collect();
    for (rank, &(n, c)) in all.iter().enumerate() {
        ranks[n][c] = u32::try_from(rank).unwrap_or(u32::MAX);
    }
    ranks
}

/// One need's candidates that no other candidate of the need dominates: of those alike in cost
/// and matched subsidy, only the longest listed (any bundle holding another is matched, in
/// every figure, by the same bundle holding it). By cost ascending; one per cost, as matched
/// follows from cost.
fn representatives(cands: &[Candidate], ranks: &[u32]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..cands.len()).collect();
    // Of equal costs, the most matched first: along this order what the SME pays at least
    // never falls, which the search's early stop relies on.
    idx.sort_by_key(|&c| (cands[c].cost, Reverse(cands[c].matched), ranks[c]));
    idx.dedup_by_key(|c| (cands[*c].cost, cands[*c].matched));
    idx
}

/// A partial bundle in the search: its sums, and its picks with their listing ranks.
#[derive(Debug, Clone, Copy)]
struct State {
    cost: i64,
    matched: i64,
    /// The candidate picked for each need of the subset so far.
    picks: [u32; MAX_NEEDS],
    /// The picks' listing ranks, newest first: compared lexicographically, the lesser has been
    /// listed longer. This order is kept by adding the same package to both sides, so keeping
    /// only the least per sum loses no bundle that would rank first.
    listing: [u32; MAX_NEEDS],
    len: usize,
}

impl State {
    fn picks(&self, subset: &[usize]) -> Vec<(usize, usize)> {
        subset
            .iter()
            .zip(&self.picks[..self.len])
            .map(|(&need, &c)| (need, c as usize))
            .collect()
    }

    fn with(&self, candidate: usize, cand: &Candidate, rank: u32) -> State {
        let mut next = *self;
        next.cost += cand.cost;
        next.matched += cand.matched;
        next.picks[self.len] = u32::try_from(candidate).unwrap_or(u32::MAX);
        // Insert the rank, keeping the listing newest first.
        let at = self.listing[..self.len].partition_point(|&r| r > rank);
        next.listing.copy_within(at..self.len, at + 1);
        next.listing[at] = rank;
        next.len += 1;
        next
    }

    fn listing(&self) -> &[u32] {
        &self.listing[..self.len]
    }
}

/// The partial bundles over `needs_in` (a subset's needs but its last), one per distinct
/// (cost, matched) sum, the longest-listed of each. A dynamic programme over the needs: bundles
/// of equal sums share their subsidy and what the SME pays whatever is added to them, so only
/// the longest listed of them can rank first. Prices come in round amounts, so the sums stay
/// few where the bundles are many. A partial bundle whose cheapest completion (`rest_cost`
/// more, the last need's included) would cost the SME more than its budget is dropped.
fn partial_states(
    needs: &[Vec<Candidate>],
    reps: &[Vec<usize>],
    ranks: &[Vec<u32>],
    needs_in: &[usize],
    min_cost: &[i64],
    limits: Limits,
) -> Vec<State> {
    let cap = limits.remaining_cap.max(0);
    let mut states = vec![State {
        cost: 0,
        matched: 0,
        picks: [0; MAX_NEEDS],
        listing: [0; MAX_NEEDS],
        len: 0,
    }];
    for (level, &need) in needs_in.iter().enumerate() {
        let rest_cost: i64 = min_cost[level + 1..].iter().sum();
        let mut at: HashMap<(i64, i64), usize> = HashMap::with_capacity(states.len() * 2);
        let mut next: Vec<State> = Vec::with_capacity(states.len() * 2);
        for state in &states {
            for &c in &reps[need] {
                let cand = &needs[need][c];
                let (cost, matched) = (state.cost + cand.cost, state.matched + cand.matched);
                // What the SME pays never falls as packages are added (each pays at least its
                // cost less its matched subsidy), and the subsidy never exceeds the cap; along
                // the candidates (by cost) this floor only grows.
                let pays_floor = (cost - matched.min(cap)).max(cost + rest_cost - cap);
                if pays_floor > limits.budget {
                    break;
                }
                let grown = state.with(c, cand, ranks[need][c]);
                match at.entry((cost, matched)) {
                    Entry::Vacant(slot) => {
                        slot.insert(next.len());
                        next.push(grown);
                    }
                    Entry::Occupied(slot) => {
                        let kept = &mut next[*slot.get()];
                        if grown.listing() < kept.listing() {
                            *kept = grown;
                        }
                    }
                }
            }
        }
        states = next;
    }
    states
}

/// Where one partial bundle stands in walking its completions by the last need, best first.
/// Along the last need's representatives (by cost; one per cost, as matched follows cost) what
/// the SME pays only grows, so the feasible completions are a prefix `..feasible`; those from
/// `reach` on reach the cap. The ones reaching the cap rank by cost ascending (same subsidy,
/// less to pay); the others below them, by matched descending, and within equal matched by
/// cost ascending.
#[derive(Debug, Clone)]
struct Cursor {
    base: State,
    feasible: usize,
    /// The next completion reaching the cap.
    next_reaching: usize,
    /// The current group of equal matched below the cap: `group_next..group_end`, and where the
    /// group starts (the next group ends there).
    group_start: usize,
    group_next: usize,
    group_end: usize,
}

/// One subset's feasible bundles in ranking order, lazily: each partial bundle's completions
/// by the last need are merged through a heap, so the last need is searched, not expanded.
/// Once a bundle reaching the cap has been given, the others reaching it are not: they have
/// the same needs and subsidy and no less to pay, so the first one (or whatever dominated it)
/// dominates them, or they are alike.
struct Finals<'a> {
    cands: &'a [Candidate],
    reps: &'a [usize],
    ranks: &'a [u32],
    cap: i64,
    cursors: Vec<Cursor>,
    heap: BinaryHeap<Reverse<HeapItem>>,
    reaching_given: bool,
}

/// A completion in the heap: its rank key, then which cursor and which representative.
type HeapItem = (Reverse<i64>, i64, [u32; MAX_NEEDS], usize, usize);

impl<'a> Finals<'a> {
    fn new(
        needs: &'a [Vec<Candidate>],
        reps: &'a [Vec<usize>],
        ranks: &'a [Vec<u32>],
        subset: &[usize],
        limits: Limits,
    ) -> Finals<'a> {
        let (last, needs_in) = match subset.split_last() {
            Some((last, rest)) => (*last, rest),
            None => (0, &[][..]),
        };
        let min_cost: Vec<i64> = subset
            .iter()
            .map(|&i| reps[i].first().map_or(0, |&c| needs[i][c].cost))
            .collect();
        let cap = limits.remaining_cap.max(0);
        let cands = &needs[last][..];
        let last_reps = &reps[last][..];
        let mut finals = Finals {
            cands,
            reps: last_reps,
            ranks: &ranks[last][..],
            cap,
            cursors: Vec::new(),
            heap: BinaryHeap::new(),
            reaching_given: false,
        };
        if subset.is_empty() {
            return finals;
        }
        for base in partial_states(needs, reps, ranks, needs_in, &min_cost, limits) {
            let pays = |c: &Candidate| base.cost + c.cost - (base.matched + c.matched).min(cap);
            let feasible = last_reps.partition_point(|&c| pays(&cands[c]) <= limits.budget);
            let reach =
                last_reps[..feasible].partition_point(|&c| base.matched + cands[c].matched < cap);
            let k = finals.cursors.len();
            finals.cursors.push(Cursor {
                base,
                feasible,
                next_reaching: reach,
                group_start: reach,
                group_next: reach,
                group_end: reach,
            });
            finals.advance(k);
        }
        finals
    }

    /// The final bundle of cursor `k` completed by representative `i`.
    fn complete(&self, k: usize, i: usize) -> State {
        let c = self.reps[i];
        self.cursors[k].base.with(c, &self.cands[c], self.ranks[c])
    }

    /// Queues cursor `k`'s next completion, if it has one.
    fn advance(&mut self, k: usize) {
        let reps = self.reps;
        let cands = self.cands;
        let reaching_given = self.reaching_given;
        let cursor = &mut self.cursors[k];
        let next = if !reaching_given && cursor.next_reaching < cursor.feasible {
            cursor.next_reaching += 1;
            Some(cursor.next_reaching - 1)
        } else {
            loop {
                if cursor.group_next < cursor.group_end {
                    cursor.group_next += 1;
                    break Some(cursor.group_next - 1);
                }
                if cursor.group_start == 0 {
                    break None;
                }
                let end = cursor.group_start;
                let m = cands[reps[end - 1]].matched;
                let start = reps[..end].partition_point(|&c| cands[c].matched < m);
                cursor.group_start = start;
                cursor.group_next = start;
                cursor.group_end = end;
            }
        };
        if let Some(i) = next {
            let done = self.complete(k, i);
            let subsidy = done.matched.min(self.cap);
            self.heap.push(Reverse((
                Reverse(subsidy),
                done.cost - subsidy,
                done.listing,
                k,
                i,
            )));
        }
    }
}

impl Iterator for Finals<'_> {
    type Item = State;

    fn next(&mut self) -> Option<State> {
        loop {
            let Reverse((Reverse(subsidy), _, _, k, i)) = self.heap.pop()?;
            let reaching = subsidy >= self.cap;
            if reaching && self.reaching_given {
                // Dominated or alike (see the type's documentation); the cursor moves on below
                // the cap.
                self.advance(k);
                continue;
            }
            let done = self.complete(k, i);
            self.reaching_given |= reaching;
            self.advance(k);
            return Some(done);
        }
    }
}

#[cfg(test)]
mod tests;
