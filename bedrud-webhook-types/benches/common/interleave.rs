//! Ratios measured interleaved: batches of `a` and `b` alternate (ABBA), so a
//! machine whose speed drifts, or a core shared with other work, slows both
//! alike. Each pair of batches, microseconds apart, gives one ratio; the
//! median of the pairs' ratios is reported. Shared by the benches of
//! bedrud-webhook-types and bedrud-webhook-verify (`#[path]`).

use std::hint::black_box;
use std::time::{Duration, Instant};

/// One interleaved comparison's result.
#[derive(Debug)]
pub(crate) struct Ratio {
    /// The median over the pairs of `a`'s time / `b`'s time.
    pub(crate) median: f64,
    /// The 10th and 90th percentiles of the pairs' ratios.
    pub(crate) p10: f64,
    pub(crate) p90: f64,
    /// The median time per call of `a` and `b`, in nanoseconds.
    pub(crate) a_ns: f64,
    pub(crate) b_ns: f64,
    /// How many pairs of batches were timed.
    pub(crate) pairs: usize,
}

fn time_batch(f: &mut impl FnMut() -> bool, calls: u32) -> f64 {
    let start = Instant::now();
    for _ in 0..calls {
        black_box(f());
    }
    start.elapsed().as_nanos() as f64 / f64::from(calls)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

/// Times `a` against `b` for about `budget`, in batches of about 20 µs.
pub(crate) fn compare(
    mut a: impl FnMut() -> bool,
    mut b: impl FnMut() -> bool,
    budget: Duration,
) -> Ratio {
    // Warm up (1000 calls of each, or 0.1 s), then size the batches.
    let warm = Instant::now();
    for _ in 0..1000 {
        black_box(a());
        black_box(b());
        if warm.elapsed() > Duration::from_millis(100) {
            break;
        }
    }
    let one = time_batch(&mut a, 10).max(time_batch(&mut b, 10)).max(1.0);
    let calls = ((20_000.0 / one) as u32).clamp(1, 10_000);

    let (mut ratios, mut a_ns, mut b_ns) = (Vec::new(), Vec::new(), Vec::new());
    let start = Instant::now();
    while start.elapsed() < budget || ratios.len() < 50 {
        let (ta, tb) = if ratios.len() % 2 == 0 {
            let ta = time_batch(&mut a, calls);
            (ta, time_batch(&mut b, calls))
        } else {
            let tb = time_batch(&mut b, calls);
            (time_batch(&mut a, calls), tb)
        };
        ratios.push(ta / tb);
        a_ns.push(ta);
        b_ns.push(tb);
    }
    for v in [&mut ratios, &mut a_ns, &mut b_ns] {
        v.sort_by(f64::total_cmp);
    }
    Ratio {
        median: percentile(&ratios, 0.5),
        p10: percentile(&ratios, 0.1),
        p90: percentile(&ratios, 0.9),
        a_ns: percentile(&a_ns, 0.5),
        b_ns: percentile(&b_ns, 0.5),
        pairs: ratios.len(),
    }
}

/// Whether `name` passes the bench's command-line filter: the first argument
/// that is neither an option nor a number (criterion's own filter syntax).
pub(crate) fn selected(name: &str) -> bool {
    let filter = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-') && a.parse::<f64>().is_err());
    filter.is_none_or(|f| name.contains(&f))
}

/// Prints one result as a line `.ci/bench-report` reads.
pub(crate) fn print(group: &str, a: &str, b: &str, r: &Ratio) {
    println!(
        "INTERLEAVED group={group} a={a} b={b} ratio={:.4} p10={:.4} p90={:.4} a_ns={:.1} b_ns={:.1} pairs={}",
        r.median, r.p10, r.p90, r.a_ns, r.b_ns, r.pairs
    );
}
