//! The workspace's layering, checked from the source: no import circle between the top-level modules of any crate,
//! no surface module of `sova-server` naming another surface, and only `app` naming the surfaces at all.
//!
//! A module's imports are the `crate::<name>` paths written anywhere in its files (in `use` lines, grouped
//! `use crate::{a, b}` lines, and inline paths); `super::` inside a module stays within it. Run alone with
//! `cargo test -p sova --test layering`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// The surface modules of `sova-server` (each later surface joins this list).
const SURFACES: &[&str] = &["connect", "intel", "siwx", "exchange", "withdrawals", "webhooks", "console"];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

fn ident_at(s: &str) -> &str {
    let end = s.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(s.len());
    &s[..end]
}

/// The names a source text reaches through `crate::`.
fn crate_refs(text: &str) -> BTreeSet<String> {
    let mut refs = BTreeSet::new();
    // Comments name modules without importing them.
    let code: String = text
        .lines()
        .map(|l| match l.trim_start().starts_with("//") {
            true => "",
            false => l,
        })
        .collect::<Vec<_>>()
        .join("\n");
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                let name = ident_at(item.trim());
                if !name.is_empty() {
                    refs.insert(name.to_string());
                }
            }
        } else {
            refs.insert(ident_at(rest).to_string());
        }
    }
    refs
}

/// Top-level modules of a crate and the other top-level modules each reaches.
fn module_graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    for e in fs::read_dir(src).into_iter().flatten().flatten() {
        let p = e.path();
        let name = p.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_string();
        if p.is_dir() {
            let mut v = Vec::new();
            rust_files(&p, &mut v);
            files.entry(name).or_default().extend(v);
        } else if p.extension().is_some_and(|x| x == "rs") && name != "lib" && name != "main" {
            files.entry(name).or_default().push(p);
        }
    }
    let names: BTreeSet<String> = files.keys().cloned().collect();
    files
        .iter()
        .map(|(m, fs_)| {
            let refs = fs_
                .iter()
                .flat_map(|f| crate_refs(&fs::read_to_string(f).unwrap_or_default()))
                .filter(|r| r != m && names.contains(r))
                .collect();
            (m.clone(), refs)
        })
        .collect()
}

/// Modules that take part in a circle (strongly connected components larger than one), by Tarjan's algorithm.
fn circles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct T<'a> {
        g: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(t: &mut T<'a>, v: &'a str) {
        let i = t.index.len();
        t.index.insert(v, i);
        t.low.insert(v, i);
        t.stack.push(v);
        t.on.insert(v);
        for w in t.g.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !t.index.contains_key(w) {
                visit(t, w);
                let lw = t.low[w];
                let lv = t.low[v];
                t.low.insert(v, lv.min(lw));
            } else if t.on.contains(w) {
                let iw = t.index[w];
                let lv = t.low[v];
                t.low.insert(v, lv.min(iw));
            }
        }
        if t.low[v] == t.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = t.stack.pop() {
                t.on.remove(w);
                comp.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                t.out.push(comp);
            }
        }
    }
    let mut t = T {
        g: graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in graph.keys() {
        if !t.index.contains_key(v.as_str()) {
            visit(&mut t, v);
        }
    }
    t.out
}

fn crates() -> Vec<(String, PathBuf)> {
    let mut v: Vec<_> = fs::read_dir(workspace().join("crates"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path().join("src")))
        .filter(|(_, p)| p.is_dir())
        .collect();
    v.sort();
    v
}

#[test]
fn no_module_circle_in_any_crate() {
    let mut found = Vec::new();
    for (name, src) in crates() {
        for c in circles(&module_graph(&src)) {
            found.push(format!("{name}: {}", c.join(" <-> ")));
        }
    }
    assert!(found.is_empty(), "import circles between top-level modules:\n{}", found.join("\n"));
}

#[test]
fn surfaces_do_not_reach_into_each_other() {
    let graph = module_graph(&workspace().join("crates/sova-server/src"));
    assert!(graph.contains_key("connect") && graph.contains_key("app"), "the checker must see sova-server's modules");
    let mut found = Vec::new();
    for (m, refs) in &graph {
        for r in refs.iter().filter(|r| SURFACES.contains(&r.as_str())) {
            if m != "app" {
                found.push(format!("{m} -> {r}"));
            }
        }
    }
    assert!(found.is_empty(), "only `app` may name a surface; found:\n{}", found.join("\n"));
}

#[test]
fn the_checker_sees_circles_and_groups() {
    let refs = crate_refs("use crate::{a, b::c};\nlet x = crate::d::e();\n// crate::f\n");
    assert_eq!(refs, ["a", "b", "d"].iter().map(|s| s.to_string()).collect());
    let g: BTreeMap<String, BTreeSet<String>> = [
        ("a".to_string(), ["b".to_string()].into()),
        ("b".to_string(), ["a".to_string()].into()),
        ("c".to_string(), ["a".to_string()].into()),
    ]
    .into();
    assert_eq!(circles(&g), vec![vec!["a".to_string(), "b".to_string()]]);
}
