//! The layout as a contract: the modules of `src/` form layers that use only those below
//! them (no import circle), and only the Lambda transport names the Lambda crates.
//!
//! An edge is a path to another file's module: `use crate::…`, `use super::…` (groups
//! `{…}` expanded) and inline `crate::…` paths, outside comments and test modules. `lib.rs`
//! and `main.rs` are left out: they declare and re-export everything.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `dir`, by its module path (`api::routes`, `dependencies::cpu`).
fn modules(dir: &Path, prefix: &[String], out: &mut BTreeMap<String, String>) {
    for entry in std::fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("a directory entry").path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            let mut inner = prefix.to_vec();
            inner.push(name);
            modules(&path, &inner, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let mut module = prefix.to_vec();
            if name != "mod" {
                module.push(name);
            }
            let text = std::fs::read_to_string(&path).expect("a source file");
            out.insert(module.join("::"), text);
        }
    }
}

/// `text` without `//` comments and without its test module.
fn code(text: &str) -> String {
    let text = text
        .split("#[cfg(test)]\nmod tests")
        .next()
        .unwrap_or_default();
    text.lines()
        .map(|line| line.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The paths (as segments) that `code` names, `super` resolved against `module`.
fn paths(module: &str, code: &str) -> Vec<Vec<String>> {
    // `super` in `a/b.rs` (module `a::b`) and in `a/b/mod.rs` (module `a::b` too) is `a`.
    let own = segments(module);
    let parent = own[..own.len().saturating_sub(1)].to_vec();
    let mut found = Vec::new();
    for root in ["crate::", "super::"] {
        for (at, _) in code.match_indices(root) {
            let before = code[..at].chars().last();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue; // part of a longer path: `super::super::`, `foo::crate::`
            }
            let mut base = if root == "crate::" {
                Vec::new()
            } else {
                parent.clone()
            };
            let mut after = &code[at + root.len()..];
            while root == "super::" && after.starts_with("super::") {
                base.pop();
                after = &after["super::".len()..];
            }
            let end = after
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(after.len());
            base.extend(segments(&after[..end]));
            match after[end..].strip_prefix('{') {
                Some(group) => {
                    let group = &group[..group.find('}').unwrap_or(group.len())];
                    for item in group.split(',') {
                        let mut path = base.clone();
                        path.extend(segments(item));
                        found.push(path);
                    }
                }
                None => found.push(base),
            }
        }
    }
    found
}

fn segments(path: &str) -> Vec<String> {
    path.split("::")
        .map(str::trim)
        .filter(|s| !s.is_empty() && *s != "self")
        .map(str::to_owned)
        .collect()
}

/// Import edges between the files of `src/`.
fn edges() -> BTreeMap<String, BTreeSet<String>> {
    let mut files = BTreeMap::new();
    modules(&src(), &[], &mut files);
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, text) in &files {
        if module == "lib" || module == "main" {
            continue;
        }
        let targets = edges.entry(module.clone()).or_default();
        for path in paths(module, &code(text)) {
            // The longest prefix that is a file's module.
            let target = (1..=path.len())
                .rev()
                .map(|n| path[..n].join("::"))
                .find(|candidate| files.contains_key(candidate));
            if let Some(target) = target
                && &target != module
                && target != "lib"
                && target != "main"
            {
                targets.insert(target);
            }
        }
    }
    edges
}

/// The modules from which `from` can be reached again.
fn in_a_circle(edges: &BTreeMap<String, BTreeSet<String>>) -> BTreeSet<String> {
    let reach = |start: &str| {
        let mut seen = BTreeSet::new();
        let mut todo: Vec<String> = edges.get(start).into_iter().flatten().cloned().collect();
        while let Some(next) = todo.pop() {
            if seen.insert(next.clone()) {
                todo.extend(edges.get(&next).into_iter().flatten().cloned());
            }
        }
        seen
    };
    edges
        .keys()
        .filter(|module| reach(module).contains(*module))
        .cloned()
        .collect()
}

#[test]
fn the_modules_form_layers_without_import_circles() {
    let edges = edges();
    assert!(
        edges["api::routes"].contains("api::openapi")
            && edges["dependencies::upstream"].contains("dependencies"),
        "the edge finder finds edges: {edges:#?}"
    );
    let circled = in_a_circle(&edges);
    assert!(
        circled.is_empty(),
        "modules in an import circle: {circled:?}\nedges: {edges:#?}"
    );
}

#[test]
fn the_bottom_layers_use_nothing_above_them() {
    let edges = edges();
    for pure in ["calc", "number"] {
        assert!(edges[pure].is_empty(), "{pure} uses {:?}", edges[pure]);
    }
    assert!(
        edges["config"].is_empty(),
        "config uses {:?}",
        edges["config"]
    );
    for (module, targets) in &edges {
        let layer = |m: &str| match m.split("::").next().unwrap_or_default() {
            "calc" | "number" => 0,
            "config" | "telemetry" => 1,
            "dependencies" => 2,
            "api" => 3,
            _ => 4,
        };
        for target in targets {
            assert!(
                layer(target) <= layer(module),
                "{module} (layer {}) uses {target} (layer {})",
                layer(module),
                layer(target)
            );
        }
    }
}

#[test]
fn only_the_lambda_transport_names_the_lambda_crates() {
    let mut files = BTreeMap::new();
    modules(&src(), &[], &mut files);
    for (module, text) in &files {
        // `src/lambda/`: its `mod.rs` and the files of its jobs.
        if module == "lambda" || module.starts_with("lambda::") {
            continue;
        }
        for name in ["lambda_http", "lambda_runtime"] {
            assert!(!text.contains(name), "src/ module {module} names {name}");
        }
    }
    assert!(
        files["lambda"].contains("lambda_http::run_concurrent"),
        "the transport is where this test looks for it"
    );
}
