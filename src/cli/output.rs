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
