//! How fast the finder's optimiser is, by itself, on random catalogues: needs × packages per
//! need, with prices on the benchmark catalogue's HK$500 grid and, as the hard case, at random
//! whole dollars (far more distinct sums). Prints the median and worst of a number of runs, each
//! with its own catalogue and budget. A benchmark, not a test:
//!
//!   cargo run --release --example bench-optimiser

use std::time::Instant;

use dtspp::finder::optimise::{Candidate, Limits, best_bundles};

/// xorshift64*: enough randomness for catalogues, and the same catalogues every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> i64 {
        i64::try_from(self.next() % n).unwrap_or(0)
    }
}

fn catalogue(rng: &mut Rng, needs: usize, per_need: usize, grid: i64) -> Vec<Vec<Candidate>> {
    let epoch = chrono::DateTime::UNIX_EPOCH.naive_utc();
    (0..needs)
        .map(|n| {
            (0..per_need)
                .map(|i| {
                    // HK$8,000 to HK$100,000, in steps of `grid` cents.
                    let cost = 800_000 + rng.below(9_200_000 / grid as u64) * grid;
                    Candidate {
                        package_id: format!("p{n}-{i}"),
                        cost,
                        matched: ((cost + 1) / 2).min(5_000_000),
                        listed_at: epoch + chrono::Duration::minutes(rng.below(500_000)),
                    }
                })
                .collect()
        })
        .collect()
}

fn main() {
    let mut rng = Rng(0x00d7_5bb0_2026_1128);
    println!("needs × per need, prices: median / worst of the runs (ms)");
    for (needs, per_need, grid, runs) in [
        (3, 1_700, 50_000, 30),
        (3, 300, 50_000, 30),
        (4, 300, 50_000, 30),
        (6, 300, 50_000, 20),
        (3, 300, 100, 10),
        (4, 300, 100, 5),
    ] {
        let mut times: Vec<f64> = Vec::new();
        for _ in 0..runs {
            let needs_ = catalogue(&mut rng, needs, per_need, grid);
            let limits = Limits {
                remaining_cap: 5_000_000,
                budget: 1_000_000 + rng.below(10_000_000),
            };
            let started = Instant::now();
            let found = best_bundles(&needs_, limits, 5);
            times.push(started.elapsed().as_secs_f64() * 1000.0);
            assert!(!found.is_empty());
        }
        times.sort_by(f64::total_cmp);
        let grid_text = if grid == 100 {
            "whole dollars"
        } else {
            "HK$500 grid"
        };
        println!(
            "{needs} × {per_need}, {grid_text}: {:.1} / {:.1}",
            times[times.len() / 2],
            times[times.len() - 1]
        );
    }
}
