//! `.secrets-scan.toml`: the scanner's settings (path allowlist and user rules), validated with
//! errors that name the file and line.
//!
//! ```toml
//! [allow]
//! paths = ["tests/fixtures/**", "docs/*.md"]
//!
//! [[rules]]
//! id = "acme-api-key"                          # letters, digits, `-` and `_`
//! description = "ACME API key"                 # optional (default: the id)
//! regex = 'acme_(?P<s>[A-Za-z0-9]{32})'        # the secret is the group `s` (else the match)
//! keywords = ["acme_"]                         # literals every match contains (prefilter)
//! entropy = 3.0                                # optional: minimum bits per character
//! allow = ['^acme_test_']                      # optional: secrets matching one are ignored
//! ```

use std::ops::Range;
use std::path::{Path, PathBuf};

use regex::Regex;
use toml_edit::{Item, Table};

use super::Error;
use super::engine::UserRule;
use super::rules::{self, Check, Confidence, Rule};

/// The scanner's own settings file, read from the folder `secrets scan` runs in (the top of
/// the repository for `--staged` and `--history`).
pub const SCAN_CONFIG_FILE: &str = ".secrets-scan.toml";

/// How far around a keyword hit, within its line, a user rule's regex looks.
const USER_WINDOW: usize = 256;

/// The settings of `.secrets-scan.toml`.
#[derive(Default)]
pub struct ScanConfig {
    allow_paths: Option<globset::GlobSet>,
    base: PathBuf,
    /// The user's rules, in file order.
    pub rules: Vec<UserRule>,
}

/// Where a byte offset of `text` is: its 1-based line.
fn line_of(text: &str, span: Option<Range<usize>>) -> usize {
    span.map_or(1, |s| {
        text[..s.start.min(text.len())].matches('\n').count() + 1
    })
}

impl ScanConfig {
    /// Read the settings; a missing file means no settings.
    pub fn load(path: &Path) -> Result<ScanConfig, Error> {
        let text = match fs_err::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(ScanConfig::default()),
            Err(source) => {
                return Err(Error::Read {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        let base = std::path::absolute(path)
            .ok()
            .and_then(|p| p.parent().map(Path::to_path_buf))
            .unwrap_or_default();
        let mut config = ScanConfig::parse(&text, path)?;
        config.base = base;
        Ok(config)
    }

    /// Parse the settings' text; `path` is where they were read from (globs are relative to
    /// its folder).
    pub fn parse(text: &str, path: &Path) -> Result<ScanConfig, Error> {
        let mut config = Parser { path, text }.parse()?;
        config.base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Ok(config)
    }

    /// Whether an allowlist glob covers `path`.
    pub fn allows(&self, path: &Path) -> bool {
        let Some(set) = &self.allow_paths else {
            return false;
        };
        let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let rel = absolute.strip_prefix(&self.base).unwrap_or(&absolute);
        // `a/./b` from a walk of `.` normalises to `a/b`.
        let rel: PathBuf = rel
            .components()
            .filter(|c| !matches!(c, std::path::Component::CurDir))
            .collect();
        set.is_match(&rel)
    }

    /// Whether an allowlist glob covers a path relative to the file's folder (`/`-separated).
    pub fn allows_relative(&self, path: &str) -> bool {
        self.allow_paths
            .as_ref()
            .is_some_and(|set| set.is_match(Path::new(path)))
    }

    /// The compiled user rules, handing them over to the engine.
    pub fn take_rules(&mut self) -> Vec<UserRule> {
        std::mem::take(&mut self.rules)
    }
}

/// A value and where it is in the file.
type Spanned<T> = (T, Option<Range<usize>>);

struct Parser<'a> {
    path: &'a Path,
    text: &'a str,
}

const RULE_KEYS: &str = "id, description, regex, keywords, entropy, allow";

impl Parser<'_> {
    fn bad(&self, span: Option<Range<usize>>, message: String) -> Error {
        Error::ScanConfigAt {
            path: self.path.to_path_buf(),
            line: line_of(self.text, span),
            message,
        }
    }

    fn parse(&self) -> Result<ScanConfig, Error> {
        let doc = toml_edit::Document::parse(self.text)
            .map_err(|e| self.bad(e.span(), format!("invalid TOML: {}", e.message().trim())))?;
        let mut config = ScanConfig::default();
        for (key, item) in doc.iter() {
            let span = doc.key(key).and_then(|k| k.span());
            match key {
                "allow" => config.allow_paths = self.allow(item, span)?,
                "rules" => {
                    let tables = item.as_array_of_tables().ok_or_else(|| {
                        self.bad(
                            span,
                            "`rules` must be an array of tables: write each rule under `[[rules]]`"
                                .into(),
                        )
                    })?;
                    for table in tables.iter() {
                        let rule = self.rule(table)?;
                        if config.rules.iter().any(|r| r.rule.id == rule.rule.id) {
                            return Err(self.bad(
                                table.span(),
                                format!("rule id {:?} is defined twice", rule.rule.id),
                            ));
                        }
                        config.rules.push(rule);
                    }
                }
                _ => {
                    return Err(self.bad(
                        span,
                        format!("unknown section {key:?} (known: allow, rules)"),
                    ));
                }
            }
        }
        Ok(config)
    }

    fn allow(
        &self,
        item: &Item,
        span: Option<Range<usize>>,
    ) -> Result<Option<globset::GlobSet>, Error> {
        let table = item
            .as_table()
            .ok_or_else(|| self.bad(span.clone(), "`allow` must be a table".into()))?;
        let mut builder = globset::GlobSetBuilder::new();
        let mut any = false;
        for (k, v) in table.iter() {
            let kspan = table.key(k).and_then(|k| k.span());
            if k != "paths" {
                return Err(self.bad(kspan, format!("unknown key allow.{k} (known: paths)")));
            }
            for (g, gspan) in self.strings(v, kspan, "allow.paths", "globs")? {
                let glob = globset::GlobBuilder::new(g)
                    .literal_separator(true)
                    .build()
                    .map_err(|e| self.bad(gspan, format!("allow.paths: {e}")))?;
                builder.add(glob);
                any = true;
            }
        }
        let set = builder
            .build()
            .map_err(|e| self.bad(span, format!("allow.paths: {e}")))?;
        Ok(any.then_some(set))
    }

    /// A list of strings, each with its span.
    fn strings<'i>(
        &self,
        item: &'i Item,
        span: Option<Range<usize>>,
        name: &str,
        what: &str,
    ) -> Result<Vec<Spanned<&'i str>>, Error> {
        let not_list = || self.bad(span.clone(), format!("{name} must be a list of {what}"));
        let list = item.as_array().ok_or_else(not_list)?;
        list.iter()
            .map(|v| {
                v.as_str().map(|s| (s, v.span())).ok_or_else(|| {
                    self.bad(
                        v.span().or(span.clone()),
                        format!("{name} must be a list of {what}"),
                    )
                })
            })
            .collect()
    }

    fn rule(&self, table: &Table) -> Result<UserRule, Error> {
        let header = table.span();
        let key_span = |k: &str| table.key(k).and_then(|k| k.span()).or(header.clone());
        for (k, _) in table.iter() {
            if !RULE_KEYS.split(", ").any(|known| known == k) {
                return Err(self.bad(
                    key_span(k),
                    format!("unknown key {k:?} in a rule (known: {RULE_KEYS})"),
                ));
            }
        }
        let string = |k: &str| -> Result<Option<Spanned<String>>, Error> {
            match table.get(k) {
                None => Ok(None),
                Some(item) => item
                    .as_str()
                    .map(|s| Some((s.to_string(), item.span().or(key_span(k)))))
                    .ok_or_else(|| {
                        self.bad(key_span(k), format!("rule key {k:?} must be a string"))
                    }),
            }
        };
        let (id, id_span) =
            string("id")?.ok_or_else(|| self.bad(header.clone(), "a rule needs an `id`".into()))?;
        if id.is_empty()
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(self.bad(
                id_span,
                format!("rule id {id:?}: use letters, digits, `-` and `_` only"),
            ));
        }
        if rules::builtin().iter().any(|r| r.id == id) || id == "unencrypted-file" {
            return Err(self.bad(
                id_span,
                format!("rule id {id:?} is a built-in rule's; choose another id"),
            ));
        }
        let description = string("description")?.map_or_else(|| id.clone(), |(d, _)| d);
        let (pattern, regex_span) = string("regex")?
            .ok_or_else(|| self.bad(header.clone(), format!("rule {id:?} needs a `regex`")))?;
        let parsed = Regex::new(&pattern).map_err(|e| {
            self.bad(
                regex_span.clone(),
                format!("rule {id:?}: invalid regex: {e}"),
            )
        })?;
        // The engine reports the group `s`; without one, the whole match is the secret.
        let pattern = if parsed.capture_names().any(|n| n == Some("s")) {
            pattern
        } else {
            format!("(?P<s>{pattern})")
        };
        let regex = Regex::new(&pattern)
            .map_err(|e| self.bad(regex_span, format!("rule {id:?}: invalid regex: {e}")))?;
        let keywords_item = table.get("keywords").ok_or_else(|| {
            self.bad(
                header.clone(),
                format!(
                    "rule {id:?} needs `keywords`: literals every match contains, for the prefilter"
                ),
            )
        })?;
        let keywords = self.strings(keywords_item, key_span("keywords"), "keywords", "strings")?;
        if keywords.is_empty() {
            return Err(self.bad(
                key_span("keywords"),
                format!("rule {id:?}: `keywords` must not be empty"),
            ));
        }
        if let Some((_, span)) = keywords.iter().find(|(k, _)| k.trim().len() < 2) {
            return Err(self.bad(
                span.clone(),
                format!("rule {id:?}: a keyword needs at least 2 characters"),
            ));
        }
        let min_entropy = match table.get("entropy") {
            None => None,
            Some(item) => {
                let v = item
                    .as_float()
                    .or_else(|| item.as_integer().map(|i| i as f64))
                    .filter(|v| (0.0..=8.0).contains(v))
                    .ok_or_else(|| {
                        self.bad(
                            key_span("entropy"),
                            format!("rule {id:?}: `entropy` must be a number of bits per character from 0 to 8"),
                        )
                    })?;
                Some(v)
            }
        };
        let mut allow = Vec::new();
        if let Some(item) = table.get("allow") {
            for (a, span) in self.strings(item, key_span("allow"), "allow", "regexes")? {
                allow.push(Regex::new(a).map_err(|e| {
                    self.bad(span, format!("rule {id:?}: invalid allow regex: {e}"))
                })?);
            }
        }
        let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
        let anchors: Vec<&'static str> =
            keywords.iter().map(|(k, _)| leak(k.to_string())).collect();
        let rule: &'static Rule = Box::leak(Box::new(Rule {
            id: leak(id),
            description: leak(description),
            anchors: Box::leak(anchors.into_boxed_slice()),
            provider: "(user)",
            doc: "",
            regex: leak(pattern),
            before: USER_WINDOW,
            after: USER_WINDOW,
            multiline: false,
            check: Check::User,
            entropy: min_entropy,
            // The team wrote this format down: its findings are not doubtful.
            confidence: Confidence::High,
            examples: &[],
            counter_examples: &[],
        }));
        Ok(UserRule { rule, regex, allow })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ScanConfig, String> {
        Parser {
            path: Path::new("cfg.toml"),
            text,
        }
        .parse()
        .map_err(|e| e.to_string())
    }

    #[test]
    fn a_user_rule_compiles_and_errors_name_the_line() {
        let ok = parse(
            "[[rules]]\nid = \"acme\"\nregex = 'acme_[a-z0-9]{8}'\nkeywords = [\"acme_\"]\nentropy = 2\n",
        )
        .unwrap();
        assert_eq!(ok.rules[0].rule.id, "acme");
        assert_eq!(ok.rules[0].rule.regex, "(?P<s>acme_[a-z0-9]{8})");
        let cases = [
            (
                "[[rules]]\nid = \"a\"\nregex = '('\nkeywords = [\"ab\"]\n",
                "cfg.toml:3: rule \"a\": invalid regex",
            ),
            (
                "[[rules]]\nid = \"a\"\nregex = 'x'\n",
                "cfg.toml:1: rule \"a\" needs `keywords`",
            ),
            (
                "\n[[rules]]\nid = \"a\"\nregex = 'ab'\nkeywords = [\"ab\"]\ncolour = 1\n",
                "cfg.toml:6: unknown key \"colour\"",
            ),
            (
                "[[rules]]\nid = \"github-token\"\nregex = 'ab'\nkeywords = [\"ab\"]\n",
                "cfg.toml:2: rule id \"github-token\" is a built-in",
            ),
            (
                "[[rules]]\nid = \"a\"\nregex = 'ab'\nkeywords = [\"ab\"]\nentropy = 9\n",
                "cfg.toml:5: rule \"a\": `entropy`",
            ),
            (
                "[rules]\n",
                "cfg.toml:1: `rules` must be an array of tables",
            ),
            ("x = [\n", "cfg.toml:1: invalid TOML"),
        ];
        for (text, want) in cases {
            let err = parse(text).err().unwrap_or_else(|| panic!("{text} parsed"));
            assert!(err.starts_with(want), "{text:?}: {err}");
        }
    }
}
