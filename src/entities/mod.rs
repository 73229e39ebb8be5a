//! TEMPORARY stub of the entity tagger (replaced by the trained model).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, PartialOrd, Ord,
)]
#[serde(rename_all = "lowercase")]
pub enum EntityType {
    Person,
    Org,
    Location,
    Misc,
}
impl EntityType {
    pub const ALL: [EntityType; 4] = [
        EntityType::Person,
        EntityType::Org,
        EntityType::Location,
        EntityType::Misc,
    ];
    pub fn as_str(&self) -> &'static str {
        match self {
            EntityType::Person => "person",
            EntityType::Org => "org",
            EntityType::Location => "location",
            EntityType::Misc => "misc",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "person" | "per" => Some(EntityType::Person),
            "org" | "organisation" | "organization" => Some(EntityType::Org),
            "location" | "loc" | "place" => Some(EntityType::Location),
            "misc" => Some(EntityType::Misc),
            _ => None,
        }
    }
}
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Mention {
    pub start: usize,
    pub end: usize,
    pub kind: EntityType,
    pub surface: String,
    pub canonical: String,
}
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct DocEntities {
    pub headline: Vec<Mention>,
    pub body: Vec<Mention>,
}
pub struct Tagger;
static T: Tagger = Tagger;
impl Tagger {
    pub fn builtin() -> &'static Tagger {
        &T
    }
    pub fn tag_document(&self, headline: &str, body: &str) -> DocEntities {
        DocEntities {
            headline: caps(headline),
            body: caps(body),
        }
    }
}
fn caps(text: &str) -> Vec<Mention> {
    let mut out = Vec::new();
    let words: Vec<(usize, &str)> = text
        .split_whitespace()
        .map(|w| (w.as_ptr() as usize - text.as_ptr() as usize, w))
        .collect();
    let mut i = 0;
    while i + 1 < words.len() {
        let (s, a) = words[i];
        let (t, b) = words[i + 1];
        if a.chars().all(|c| c.is_alphabetic())
            && b.chars().all(|c| c.is_alphabetic())
            && a.starts_with(char::is_uppercase)
            && b.starts_with(char::is_uppercase)
        {
            let e = t + b.len();
            out.push(Mention {
                start: s,
                end: e,
                kind: EntityType::Person,
                surface: text[s..e].to_string(),
                canonical: text[s..e].to_string(),
            });
            i += 2;
        } else {
            i += 1;
        }
    }
    out
}
