//! The labelled concern pairs (tests/fixtures/concern_pairs, each set written and committed
//! before anything was fitted on it) against `concern::decide`: the phrase lists turn a pair into
//! signals, a logistic model weighs them. The model is fitted here, on the tune splits only, and
//! the committed weights must be that fit. It reports precision and recall on each set's tune and
//! held-out split and on all held-out pairs together (the targets: precision ≥ 0.97,
//! recall ≥ 0.90).
//!
//! `ANLIEGEN_SHOW_MISSES=1` lists the misses of the tune splits (never of the held-out ones);
//! `ANLIEGEN_DUMP_FEATURES=FILE` writes every same-customer pair's signals as CSV, for
//! experiments outside the test.

use anliegen_core::concern;

/// L2 weight of the fit (chosen by fitting on the first two sets and measuring on the third's
/// tune split; see the README).
const L2: f64 = 1.0;

fn same_customer(p: &serde_json::Value) -> bool {
    p["a"]["customer"] == p["b"]["customer"] || p["same_person"] == true
}

fn text(c: &serde_json::Value) -> String {
    format!(
        "{} {}",
        c["subject"].as_str().unwrap_or(""),
        c["text"].as_str().unwrap_or("")
    )
}

fn days(p: &serde_json::Value) -> i64 {
    p["a"]["days_before"].as_i64().unwrap_or(0) - p["b"]["days_before"].as_i64().unwrap_or(0)
}

/// Same-customer pairs of the tune splits, as the fit sees them.
fn training_rows() -> Vec<([f64; concern::FEATURES], bool)> {
    SETS.iter()
        .flat_map(|f| load(f))
        .filter(|p| p["split"] == "tune" && same_customer(p))
        .map(|p| {
            let x = concern::features(
                &concern::prepare(&text(&p["a"])),
                &concern::prepare(&text(&p["b"])),
                days(&p),
            );
            (x, p["label"] == "same")
        })
        .collect()
}

/// The committed model is the fit of the committed data: refits and compares. With
/// `ANLIEGEN_WRITE_MODEL=1` it writes the fit into `src/concern.rs` instead.
#[test]
fn the_model_is_the_fit_of_the_tune_splits() {
    let model = fit(&training_rows(), L2);
    let close = model
        .weights
        .iter()
        .zip(concern::MODEL.weights.iter())
        .all(|(a, b)| (a - b).abs() < 1e-6)
        && (model.bias - concern::MODEL.bias).abs() < 1e-6;
    let mut src = String::from(
        "// BEGIN MODEL\n/// The fitted scorer.\npub const MODEL: Model = Model {\n    weights: [\n",
    );
    for (w, name) in model.weights.iter().zip(concern::FEATURE_NAMES) {
        src.push_str(&format!("        {w:.9}, // {name}\n"));
    }
    src.push_str(&format!(
        "    ],\n    bias: {:.9},\n}};\n// END MODEL",
        model.bias
    ));
    if std::env::var("ANLIEGEN_WRITE_MODEL").is_ok() {
        let path = format!("{}/src/concern.rs", env!("CARGO_MANIFEST_DIR"));
        let code = std::fs::read_to_string(&path).expect("concern.rs");
        let (Some(a), Some(b)) = (code.find("// BEGIN MODEL"), code.find("// END MODEL")) else {
            panic!("no model markers in concern.rs");
        };
        let code = format!("{}{src}{}", &code[..a], &code[b + "// END MODEL".len()..]);
        std::fs::write(&path, code).expect("write concern.rs");
        return;
    }
    assert!(
        close,
        "the committed model is not the fit of the labelled pairs; run with ANLIEGEN_WRITE_MODEL=1 to write:\n{src}"
    );
}

/// Fits a [`Model`] by Newton's method on L2-regularised log loss (`l2` on the weights, not on
/// the intercept). Deterministic: the same rows give the same model.
fn fit(rows: &[([f64; concern::FEATURES], bool)], l2: f64) -> concern::Model {
    const N: usize = concern::FEATURES + 1;
    let mut w = [0.0f64; N];
    let row = |x: &[f64; concern::FEATURES]| {
        let mut r = [1.0f64; N];
        r[1..].copy_from_slice(x);
        r
    };
    for _ in 0..50 {
        let mut grad = [0.0f64; N];
        let mut hess = [[0.0f64; N]; N];
        for (x, y) in rows {
            let r = row(x);
            let z: f64 = w.iter().zip(&r).map(|(a, b)| a * b).sum();
            let p = 1.0 / (1.0 + (-z).exp());
            let err = p - if *y { 1.0 } else { 0.0 };
            let s = (p * (1.0 - p)).max(1e-9);
            for i in 0..N {
                grad[i] += err * r[i];
                for j in 0..N {
                    hess[i][j] += s * r[i] * r[j];
                }
            }
        }
        for i in 1..N {
            grad[i] += l2 * w[i];
            hess[i][i] += l2;
        }
        // A tiny ridge keeps features that never fire (a constant 0 column) solvable.
        hess[0][0] += 1e-9;
        let step = solve(hess, grad);
        let mut moved = 0.0f64;
        for (wi, si) in w.iter_mut().zip(step) {
            *wi -= si;
            moved = moved.max(si.abs());
        }
        if moved < 1e-10 {
            break;
        }
    }
    let mut weights = [0.0; concern::FEATURES];
    weights.copy_from_slice(&w[1..]);
    concern::Model {
        weights,
        bias: w[0],
    }
}

/// Solves `a · x = b` by Gaussian elimination with partial pivoting (`a` is symmetric positive
/// definite here, so every pivot is positive).
#[allow(clippy::needless_range_loop)] // matrix code reads best with indices
fn solve<const N: usize>(mut a: [[f64; N]; N], mut b: [f64; N]) -> [f64; N] {
    for col in 0..N {
        let pivot = (col..N)
            .max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))
            .unwrap_or(col);
        a.swap(col, pivot);
        b.swap(col, pivot);
        let d = a[col][col];
        if d.abs() < 1e-12 {
            continue;
        }
        for r in col + 1..N {
            let k = a[r][col] / d;
            if k == 0.0 {
                continue;
            }
            for c in col..N {
                a[r][c] -= k * a[col][c];
            }
            b[r] -= k * b[col];
        }
    }
    let mut x = [0.0f64; N];
    for r in (0..N).rev() {
        let s: f64 = (r + 1..N).map(|c| a[r][c] * x[c]).sum();
        x[r] = if a[r][r].abs() < 1e-12 {
            0.0
        } else {
            (b[r] - s) / a[r][r]
        };
    }
    x
}

#[derive(Default)]
struct Score {
    tp: u32,
    fp: u32,
    fn_: u32,
    tn: u32,
}

impl Score {
    fn precision(&self) -> f64 {
        f64::from(self.tp) / f64::from((self.tp + self.fp).max(1))
    }
    fn recall(&self) -> f64 {
        f64::from(self.tp) / f64::from((self.tp + self.fn_).max(1))
    }
}

fn same_concern(pair: &serde_json::Value) -> bool {
    let (a, b) = (&pair["a"], &pair["b"]);
    let same_customer = a["customer"] == b["customer"] || pair["same_person"] == true;
    let text = |c: &serde_json::Value| {
        format!(
            "{} {}",
            c["subject"].as_str().unwrap_or(""),
            c["text"].as_str().unwrap_or("")
        )
    };
    let days = a["days_before"].as_i64().unwrap_or(0) - b["days_before"].as_i64().unwrap_or(0);
    anliegen_core::concern::decide(
        &text(a),
        &text(b),
        same_customer,
        days,
        &anliegen_core::concern::MatchConfig::default(),
    )
    .same
}

fn load(file: &str) -> Vec<serde_json::Value> {
    let path = format!(
        "{}/tests/fixtures/concern_pairs/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    let data = std::fs::read_to_string(path).expect("the labelled set");
    data.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

fn score(pairs: &[serde_json::Value]) -> (Score, Score) {
    let mut tune = Score::default();
    let mut held = Score::default();
    for p in pairs {
        let want = p["label"] == "same";
        let got = same_concern(p);
        // Tuning aid: misses on the tune split only (never look at the held-out ones).
        if want != got && p["split"] == "tune" && std::env::var("ANLIEGEN_SHOW_MISSES").is_ok() {
            eprintln!(
                "{} want {want}: {} || {}",
                p["id"], p["a"]["text"], p["b"]["text"]
            );
        }
        let s = if p["split"] == "holdout" {
            &mut held
        } else {
            &mut tune
        };
        match (want, got) {
            (true, true) => s.tp += 1,
            (false, true) => s.fp += 1,
            (true, false) => s.fn_ += 1,
            (false, false) => s.tn += 1,
        }
    }
    (tune, held)
}

/// Every labelled set (each written later than the one before it and independently of the
/// matcher), each split 70 % tune, 30 % held out. The model is fitted on all their tune splits.
const SETS: [&str; 6] = [
    "pairs.jsonl",
    "pairs2.jsonl",
    "pairs3.jsonl",
    "pairs4.jsonl",
    "pairs5.jsonl",
    "pairs6.jsonl",
];

#[test]
fn matcher_on_the_labelled_pairs() {
    let sets: Vec<(&str, Vec<serde_json::Value>)> = SETS.iter().map(|f| (*f, load(f))).collect();
    let mut pooled = Score::default();
    for (name, set) in &sets {
        assert!(set.len() >= 300, "{}", set.len());
        let holdout = set.iter().filter(|p| p["split"] == "holdout").count();
        assert!((0.25..0.35).contains(&(holdout as f64 / set.len() as f64)));
        let (tune, held) = score(set);
        let all = Score {
            tp: tune.tp + held.tp,
            fp: tune.fp + held.fp,
            fn_: tune.fn_ + held.fn_,
            tn: tune.tn + held.tn,
        };
        eprintln!(
            "concern matcher on {name}: all precision {:.3} recall {:.3}; tune precision {:.3} recall {:.3}; holdout precision {:.3} recall {:.3} ({} pairs, {} held out)",
            all.precision(),
            all.recall(),
            tune.precision(),
            tune.recall(),
            held.precision(),
            held.recall(),
            set.len(),
            held.tp + held.fp + held.fn_ + held.tn,
        );
        // The held-out parts of all sets together: the figure the targets are about.
        pooled.tp += held.tp;
        pooled.fp += held.fp;
        pooled.fn_ += held.fn_;
        pooled.tn += held.tn;
    }
    eprintln!(
        "concern matcher on all held-out pairs: precision {:.3} recall {:.3} ({} pairs)",
        pooled.precision(),
        pooled.recall(),
        pooled.tp + pooled.fp + pooled.fn_ + pooled.tn
    );
    // Different customers never match, whatever the text says.
    for p in sets
        .iter()
        .flat_map(|(_, set)| set)
        .filter(|p| p["kind"] == "different_customers")
    {
        assert!(!same_concern(p), "{}", p["id"]);
    }
}

/// Writes every same-customer pair's features to `$ANLIEGEN_DUMP_FEATURES` (CSV) for fitting.
#[test]
fn dump_features() {
    let Ok(out) = std::env::var("ANLIEGEN_DUMP_FEATURES") else {
        return;
    };
    use concern::{FEATURE_NAMES, features, prepare};
    let mut csv = format!("set,id,split,label,hard,{}\n", FEATURE_NAMES.join(","));
    for file in SETS {
        let path = format!(
            "{}/tests/fixtures/concern_pairs/{file}",
            env!("CARGO_MANIFEST_DIR")
        );
        if !std::path::Path::new(&path).exists() {
            continue;
        }
        for p in load(file) {
            let (a, b) = (&p["a"], &p["b"]);
            if a["customer"] != b["customer"] && p["same_person"] != true {
                continue;
            }
            let text = |c: &serde_json::Value| {
                format!(
                    "{} {}",
                    c["subject"].as_str().unwrap_or(""),
                    c["text"].as_str().unwrap_or("")
                )
            };
            let days =
                a["days_before"].as_i64().unwrap_or(0) - b["days_before"].as_i64().unwrap_or(0);
            let f = features(&prepare(&text(a)), &prepare(&text(b)), days);
            let nums: Vec<String> = f.iter().map(|x| format!("{x:.4}")).collect();
            csv.push_str(&format!(
                "{file},{},{},{},{},{}\n",
                p["id"].as_str().unwrap_or(""),
                p["split"].as_str().unwrap_or(""),
                i32::from(p["label"] == "same"),
                i32::from(p["hard"] == true),
                nums.join(",")
            ));
        }
    }
    std::fs::write(out, csv).expect("write the features");
}
