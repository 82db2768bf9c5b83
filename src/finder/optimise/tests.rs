use super::*;
use proptest::prelude::*;

fn day(d: i64) -> NaiveDateTime {
    chrono::DateTime::UNIX_EPOCH.naive_utc() + chrono::Duration::days(20_000 + d)
}

/// A 1:1 matching under a per-SME cap, as the engine computes it: half the cost, rounded up.
fn candidate(id: &str, cost: i64, per_sme_cap: i64, listed: i64) -> Candidate {
    Candidate {
        package_id: id.to_owned(),
        cost,
        matched: ((cost + 1) / 2).min(per_sme_cap),
        listed_at: day(listed),
    }
}

/// Every feasible bundle, by brute force.
fn all_bundles(needs: &[Vec<Candidate>], limits: Limits) -> Vec<Bundle> {
    let mut out = Vec::new();
    let mut choice: Vec<Option<usize>> = vec![None; needs.len()];
    loop {
        let picks: Vec<(usize, usize)> = choice
            .iter()
            .enumerate()
            .filter_map(|(n, c)| c.map(|c| (n, c)))
            .collect();
        if !picks.is_empty()
            && let Some(b) = bundle_of(needs, limits, &picks)
        {
            out.push(b);
        }
        // The next choice, as an odometer: None, then each candidate, per need.
        let mut i = 0;
        loop {
            if i == needs.len() {
                return out;
            }
            let next = match choice[i] {
                None => 0,
                Some(c) => c + 1,
            };
            if next < needs[i].len() {
                choice[i] = Some(next);
                break;
            }
            choice[i] = None;
            i += 1;
        }
    }
}

fn keyed(needs: &[Vec<Candidate>], bundles: &[Bundle]) -> Vec<Key> {
    bundles.iter().map(|b| key(b, needs)).collect()
}

#[test]
fn weights_count_needs_then_prefer_the_earlier() {
    assert!(weight(&[0, 1], 3) > weight(&[0, 2], 3));
    assert!(weight(&[1, 2], 3) > weight(&[0], 3), "two needs beat one");
    assert!(weight(&[0], 3) > weight(&[2], 3));
    assert_eq!(weight(&[0, 1, 2], 3), (3 << 3) | 0b111);
}

#[test]
fn the_cap_binds_on_the_bundle_cheapest_first() {
    // Cap 30,000: the cheaper package (20,000 → 10,000) is funded in full, the dearer
    // (60,000 → 30,000) gets the 20,000 left.
    let needs = vec![
        vec![candidate("pos", 60_000, 50_000, 0)],
        vec![candidate("crm", 20_000, 50_000, 0)],
    ];
    let limits = Limits {
        remaining_cap: 30_000,
        budget: 100_000,
    };
    let b = bundle_of(&needs, limits, &[(0, 0), (1, 0)]).unwrap();
    assert_eq!((b.subsidy, b.sme_pays, b.cost), (30_000, 50_000, 80_000));
    assert_eq!(
        b.picks
            .iter()
            .map(|p| (p.need, p.subsidy))
            .collect::<Vec<_>>(),
        [(0, 20_000), (1, 10_000)]
    );
    let tight = Limits {
        remaining_cap: 30_000,
        budget: 49_999,
    };
    assert!(
        bundle_of(&needs, tight, &[(0, 0), (1, 0)]).is_none(),
        "over budget"
    );
}

#[test]
fn the_best_bundle_covers_most_needs_then_uses_most_subsidy() {
    let needs = vec![
        vec![
            candidate("pos-a", 10_000, 50_000, 0),
            candidate("pos-b", 30_000, 50_000, 1),
        ],
        vec![candidate("mkt-a", 8_000, 50_000, 0)],
    ];
    let limits = Limits {
        remaining_cap: 50_000,
        budget: 20_000,
    };
    let best = best_bundles(&needs, limits, 5);
    let ids = |b: &Bundle| -> Vec<&str> {
        b.picks
            .iter()
            .map(|p| needs[p.need][p.candidate].package_id.as_str())
            .collect()
    };
    assert_eq!(ids(&best[0]), ["pos-b", "mkt-a"], "{best:?}");
    assert_eq!((best[0].subsidy, best[0].sme_pays), (19_000, 19_000));
    assert_eq!(ids(&best[1]), ["pos-a", "mkt-a"]);
}

#[test]
fn of_alike_bundles_the_longest_listed_is_the_one_offered() {
    let needs = vec![
        vec![
            candidate("pos-new", 20_000, 50_000, 9),
            candidate("pos-old", 20_000, 50_000, 2),
            candidate("pos-cheap", 12_000, 50_000, 5),
        ],
        vec![
            candidate("crm-a", 6_000, 50_000, 4),
            candidate("crm-b", 6_000, 50_000, 3),
        ],
    ];
    let limits = Limits {
        remaining_cap: 50_000,
        budget: 50_000,
    };
    let best = best_bundles(&needs, limits, 5);
    let ids: Vec<Vec<&str>> = best
        .iter()
        .map(|b| {
            b.picks
                .iter()
                .map(|p| needs[p.need][p.candidate].package_id.as_str())
                .collect()
        })
        .collect();
    // Both needs first (the dearer first: more subsidy), each price once; then one need alone.
    assert_eq!(
        ids,
        [
            vec!["pos-old", "crm-b"],
            vec!["pos-cheap", "crm-b"],
            vec!["pos-old"],
            vec!["pos-cheap"],
            vec!["crm-b"],
        ]
    );
}

fn catalogue() -> impl Strategy<Value = (Vec<Vec<Candidate>>, Limits)> {
    let need = proptest::collection::vec((1i64..40, 0i64..4), 0..6);
    (
        proptest::collection::vec(need, 1..4),
        1i64..60,
        0i64..60,
        0i64..80,
    )
        .prop_map(|(needs, per_cap, cap, budget)| {
            // Costs in steps of 500 cents so that ties and equal sums are common.
            let per_cap = per_cap * 500;
            let needs = needs
                .into_iter()
                .enumerate()
                .map(|(n, cands)| {
                    cands
                        .into_iter()
                        .enumerate()
                        .map(|(i, (cost, listed))| {
                            candidate(&format!("p{n}-{i}"), cost * 500, per_cap, listed)
                        })
                        .collect()
                })
                .collect();
            (
                needs,
                Limits {
                    remaining_cap: (cap * 500).min(per_cap),
                    budget: budget * 500,
                },
            )
        })
}

/// The reference answer, by brute force: every feasible bundle ranked, the dominated and the
/// alike dropped, the first `want` kept.
fn reference(needs: &[Vec<Candidate>], limits: Limits, want: usize) -> Vec<Bundle> {
    let all = all_bundles(needs, limits);
    let mut undominated: Vec<Bundle> = all
        .iter()
        .filter(|b| !all.iter().any(|o| dominates(o, b)))
        .cloned()
        .collect();
    undominated.sort_by_key(|b| key(b, needs));
    undominated.dedup_by_key(|b| (b.weight, b.subsidy, b.sme_pays));
    undominated.truncate(want);
    undominated
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn answers_are_the_best_undominated_feasible_bundles((needs, limits) in catalogue(), want in 1usize..7) {
        let all = all_bundles(&needs, limits);
        let found = best_bundles(&needs, limits, want);
        prop_assert_eq!(keyed(&needs, &found), keyed(&needs, &reference(&needs, limits, want)));
        for b in &found {
            prop_assert!(b.sme_pays <= limits.budget, "within the budget");
            prop_assert!(b.subsidy <= limits.remaining_cap, "within the cap");
            let mut seen: Vec<usize> = b.picks.iter().map(|p| p.need).collect();
            seen.dedup();
            prop_assert_eq!(seen.len(), b.picks.len(), "one package per need");
            prop_assert!(!all.iter().any(|o| dominates(o, b)), "not dominated");
        }
    }
}
