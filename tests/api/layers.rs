//! Dependencies point one way (DESIGN.md): the engine (money, matching) imports neither the
//! database nor a slice, and the budget, which moves money, imports no slice. Read from the
//! source, so that a wrong import fails here rather than in review.

use std::path::{Path, PathBuf};

/// The vertical slices: entry points and domains that sit above the budget and the engine.
const SLICES: &[&str] = &[
    "programme",
    "vendors",
    "packages",
    "catalogue",
    "smes",
    "enquiries",
    "applications",
    "oversight",
    "seed",
    "startup",
];

fn source(relative: &str) -> Vec<(PathBuf, String)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src")
        .join(relative);
    if path.is_dir() {
        let mut files: Vec<_> = std::fs::read_dir(&path)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "rs"))
            .collect();
        files.sort();
        files
            .into_iter()
            .map(|p| {
                let text = std::fs::read_to_string(&p).unwrap();
                (p, text)
            })
            .collect()
    } else {
        let text = std::fs::read_to_string(&path).unwrap();
        vec![(path, text)]
    }
}

/// Every `crate::<module>` or `super::…` path a file names, outside comments.
fn crate_modules(text: &str) -> Vec<String> {
    let code: String = text
        .lines()
        .map(|line| line.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    let mut found = Vec::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            found.push(name);
        }
    }
    // `use crate::{a, b}` groups.
    for group in code.split("crate::{").skip(1) {
        let inside = group.split('}').next().unwrap_or("");
        for item in inside.split(',') {
            let name: String = item
                .trim()
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            found.push(name);
        }
    }
    found
}

fn offences(files: &[(PathBuf, String)], forbidden: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for (path, text) in files {
        for module in crate_modules(text) {
            if forbidden.contains(&module.as_str()) {
                out.push(format!("{} imports crate::{module}", path.display()));
            }
        }
    }
    out
}

#[test]
fn the_engine_imports_neither_the_database_nor_a_slice() {
    let mut forbidden = SLICES.to_vec();
    forbidden.extend(["db", "budget", "audit", "outbox", "mail", "auth"]);
    for file in ["money.rs", "matching.rs"] {
        let files = source(file);
        let found = offences(&files, &forbidden);
        assert!(found.is_empty(), "{found:#?}");
        assert!(
            !files[0].1.contains("diesel"),
            "{file} names diesel: the database mapping lives in src/db/"
        );
    }
}

#[test]
fn the_budget_imports_no_slice() {
    let found = offences(&source("budget"), SLICES);
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn the_checker_sees_a_wrong_import() {
    let text = "use crate::applications::model::Row;\nuse crate::{db, money};\n// crate::vendors in a comment\n";
    assert_eq!(crate_modules(text), ["applications", "db", "money"]);
    let files = vec![(PathBuf::from("x.rs"), text.to_owned())];
    assert_eq!(offences(&files, &["applications", "vendors"]).len(), 1);
}
