//! Terminal output helpers shared by the subcommands.

use std::io::IsTerminal;

/// Whether to colour stdout: a terminal, and NO_COLOR unset (https://no-color.org).
pub fn use_color() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stdout().is_terminal()
}

/// Opening and closing marks for highlighted text.
pub fn marks(color: bool) -> (&'static str, &'static str) {
    if color {
        ("\x1b[1;31m", "\x1b[0m")
    } else {
        ("**", "**")
    }
}

/// Prints one value as a JSON line.
pub fn json_line<T: serde::Serialize>(v: &T) {
    println!("{}", serde_json::to_string(v).expect("serializable"));
}

/// Parses `--type`: person, org, location or misc (and their usual abbreviations).
pub fn entity_type(s: &str) -> Result<crate::entities::EntityType, String> {
    crate::entities::EntityType::parse(s)
        .ok_or_else(|| format!("unknown type {s:?}: use person, org, location or misc"))
}

/// Parses a thread count: a whole number of at least 1 (0 would silently mean 1).
pub fn thread_count(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(format!("{s:?} is not a whole number: {e}")),
    }
}

/// The `--field TARGET=PATH` options of `ingest` and `bench` as one field map.
pub fn field_map(specs: &[String]) -> anyhow::Result<crate::ingest::FieldMap> {
    let mut map = crate::ingest::FieldMap::default();
    for spec in specs {
        let (target, path) = crate::ingest::FieldMap::parse_spec(spec)
            .map_err(|e| anyhow::anyhow!("--field {spec}: {e}"))?;
        map.insert(&target, &path)
            .map_err(|e| anyhow::anyhow!("--field {spec}: {e}"))?;
    }
    Ok(map)
}
