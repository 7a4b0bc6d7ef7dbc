//! `.gitleaks.toml`: a team's gitleaks configuration, read so that its custom rules and
//! allowlists keep working (gitleaks 8 format).
//!
//! - `[[rules]]`: `id`, `description`, `regex`, `secretGroup` (else the first capture group that
//!   matched, else the whole match), `entropy`, `keywords` (none: the regex runs on the whole
//!   text), `path` (the rule applies to matching files only; with no `regex`, a matching file is
//!   itself the finding), `allowlist`/`allowlists`, `tags` (ignored).
//! - `[allowlist]`/`[[allowlists]]` (global, `targetRules` to narrow them) and per rule: `paths`,
//!   `regexes` (`regexTarget` = `secret` (default), `match` or `line`), `stopwords`, `commits`,
//!   `condition` = `OR` (default) or `AND`. Global allowlists apply to our rules too.
//! - `[extend]`: `useDefault = true` keeps our built-in rules beside the team's; without it only
//!   the team's rules run, as with gitleaks. `disabledRules` turns off rules by id (gitleaks'
//!   default ids are mapped to ours: `generic-api-key` is `generic-secret`...). `path` reads a
//!   base configuration first (relative to this file's folder).

use std::ops::Range;
use std::path::{Path, PathBuf};

use regex::Regex;
use toml_edit::{Item, Table};

use super::Error;
use super::engine::{SecretGroup, UserRule};
use super::rules::{Check, Confidence, Rule};

/// The file name, looked for where `.secrets-scan.toml` is.
pub const GITLEAKS_FILE: &str = ".gitleaks.toml";

/// How a gitleaks default rule id maps to ours, for `disabledRules` and allowlist `targetRules`.
const ID_ALIASES: &[(&str, &str)] = &[
    ("generic-api-key", "generic-secret"),
    ("github-pat", "github-token"),
    ("github-oauth", "github-token"),
    ("github-app-token", "github-token"),
    ("github-refresh-token", "github-token"),
    ("github-fine-grained-pat", "github-fine-grained-pat"),
    ("gitlab-pat", "gitlab-token"),
    ("aws-access-token", "aws-access-key-id"),
    ("slack-bot-token", "slack-token"),
    ("slack-user-token", "slack-token"),
    ("slack-webhook-url", "slack-webhook"),
    ("stripe-access-token", "stripe-key"),
    ("npm-access-token", "npm-token"),
    ("gcp-api-key", "google-api-key"),
    ("sendgrid-api-token", "sendgrid-api-key"),
    ("pypi-upload-token", "pypi-token"),
    ("private-key", "private-key"),
    ("jwt", "jwt"),
];

/// Our id for a gitleaks rule id.
pub fn our_id(id: &str) -> &str {
    ID_ALIASES
        .iter()
        .find(|(g, _)| *g == id)
        .map_or(id, |(_, ours)| ours)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    Secret,
    Match,
    Line,
}

/// One allowlist: a finding it covers is not reported.
#[derive(Debug)]
pub struct Allowlist {
    /// Global allowlists: the rules (ids) it is for; empty means every rule.
    pub target_rules: Vec<String>,
    all: bool,
    paths: Vec<Regex>,
    regexes: Vec<Regex>,
    target: Target,
    stopwords: Vec<String>,
    commits: Vec<String>,
}

/// What an allowlist looks at.
pub struct Subject<'a> {
    pub rule: &'a str,
    pub path: &'a str,
    pub secret: &'a str,
    pub matched: &'a str,
    pub line: &'a str,
    pub commit: Option<&'a str>,
}

impl Allowlist {
    /// Whether this allowlist covers a finding (for its commit, once known).
    pub fn covers(&self, s: &Subject) -> bool {
        if !self.target_rules.is_empty() && !self.target_rules.iter().any(|r| r == s.rule) {
            return false;
        }
        let text = match self.target {
            Target::Secret => s.secret,
            Target::Match => s.matched,
            Target::Line => s.line,
        };
        let lower = s.secret.to_ascii_lowercase();
        let mut checks: Vec<bool> = Vec::new();
        if !self.paths.is_empty() {
            checks.push(self.paths.iter().any(|p| p.is_match(s.path)));
        }
        if !self.regexes.is_empty() {
            checks.push(self.regexes.iter().any(|r| r.is_match(text)));
        }
        if !self.stopwords.is_empty() {
            checks.push(self.stopwords.iter().any(|w| lower.contains(w.as_str())));
        }
        if !self.commits.is_empty() {
            checks.push(s.commit.is_some_and(|c| {
                self.commits
                    .iter()
                    .any(|a| !a.is_empty() && c.starts_with(a.as_str()))
            }));
        }
        if self.all {
            !checks.is_empty() && checks.iter().all(|&c| c)
        } else {
            checks.iter().any(|&c| c)
        }
    }
}

/// A parsed `.gitleaks.toml`.
#[derive(Default)]
pub struct GitleaksConfig {
    /// Whether our built-in rules run too (`[extend] useDefault = true`).
    pub use_default: bool,
    /// Our rule ids that `[extend] disabledRules` turns off.
    pub disabled: Vec<String>,
    pub rules: Vec<UserRule>,
    pub allowlists: Vec<Allowlist>,
}

impl GitleaksConfig {
    /// Read the file; `None` when it does not exist.
    pub fn load(path: &Path) -> Result<Option<GitleaksConfig>, Error> {
        load_depth(path, 0)
    }
}

fn load_depth(path: &Path, depth: usize) -> Result<Option<GitleaksConfig>, Error> {
    let text = match fs_err::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && depth == 0 => return Ok(None),
        Err(source) => {
            return Err(Error::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let parser = Parser { path, text: &text };
    let mut config = parser.parse()?;
    if let Some((base, span)) = parser.extend_path()? {
        if depth >= 2 {
            return Err(parser.bad(
                span,
                "[extend] path: configurations extend at most 2 levels deep".into(),
            ));
        }
        let base_path = path.parent().unwrap_or(Path::new(".")).join(base);
        let base = load_depth(&base_path, depth + 1)?.unwrap_or_default();
        // The base's rules first; a rule of this file with the same id replaces the base's.
        let mut rules = base.rules;
        rules.retain(|r| !config.rules.iter().any(|c| c.rule.id == r.rule.id));
        rules.append(&mut config.rules);
        config.rules = rules;
        config.allowlists.splice(0..0, base.allowlists);
        config.disabled.extend(base.disabled);
        config.use_default |= base.use_default;
    }
    Ok(Some(config))
}

struct Parser<'a> {
    path: &'a Path,
    text: &'a str,
}

fn line_of(text: &str, span: Option<Range<usize>>) -> usize {
    span.map_or(1, |s| {
        text[..s.start.min(text.len())].matches('\n').count() + 1
    })
}

/// A value and where it is in the file.
type Spanned<T> = (T, Option<Range<usize>>);

const TOP_KEYS: &str = "title, description, minVersion, extend, rules, allowlist, allowlists";
const RULE_KEYS: &str =
    "id, description, regex, secretGroup, entropy, keywords, path, tags, allowlist, allowlists";
const ALLOW_KEYS: &str =
    "description, condition, paths, regexes, regexTarget, stopwords, commits, targetRules";

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

impl Parser<'_> {
    fn bad(&self, span: Option<Range<usize>>, message: String) -> Error {
        Error::ScanConfigAt {
            path: self.path.to_path_buf(),
            line: line_of(self.text, span),
            message,
        }
    }

    fn doc(&self) -> Result<toml_edit::Document<&str>, Error> {
        toml_edit::Document::parse(self.text)
            .map_err(|e| self.bad(e.span(), format!("invalid TOML: {}", e.message().trim())))
    }

    fn extend_path(&self) -> Result<Option<Spanned<PathBuf>>, Error> {
        let doc = self.doc()?;
        let Some(item) = doc.get("extend").and_then(|e| e.get("path")) else {
            return Ok(None);
        };
        let p = item
            .as_str()
            .ok_or_else(|| self.bad(item.span(), "[extend] path must be a string".into()))?;
        Ok(Some((PathBuf::from(p), item.span())))
    }

    fn parse(&self) -> Result<GitleaksConfig, Error> {
        let doc = self.doc()?;
        let mut config = GitleaksConfig::default();
        for (key, item) in doc.iter() {
            let span = doc.key(key).and_then(|k| k.span());
            match key {
                "title" | "description" | "minVersion" => {}
                "extend" => self.extend(item, span, &mut config)?,
                "rules" => {
                    let tables = item.as_array_of_tables().ok_or_else(|| {
                        self.bad(
                            span,
                            "`rules` must be an array of tables (`[[rules]]`)".into(),
                        )
                    })?;
                    for t in tables.iter() {
                        let rule = self.rule(t)?;
                        if config.rules.iter().any(|r| r.rule.id == rule.rule.id) {
                            return Err(self.bad(
                                t.span(),
                                format!("rule id {:?} is defined twice", rule.rule.id),
                            ));
                        }
                        config.rules.push(rule);
                    }
                }
                "allowlist" | "allowlists" => {
                    for t in self.tables(item, span, key)? {
                        config.allowlists.push(self.allowlist(t, true)?);
                    }
                }
                _ => return Err(self.bad(span, format!("unknown key {key:?} (known: {TOP_KEYS})"))),
            }
        }
        Ok(config)
    }

    /// `[name]` or `[[name]]`: the tables.
    fn tables<'i>(
        &self,
        item: &'i Item,
        span: Option<Range<usize>>,
        name: &str,
    ) -> Result<Vec<&'i Table>, Error> {
        if let Some(t) = item.as_table() {
            Ok(vec![t])
        } else if let Some(a) = item.as_array_of_tables() {
            Ok(a.iter().collect())
        } else {
            Err(self.bad(span, format!("`{name}` must be a table")))
        }
    }

    fn extend(
        &self,
        item: &Item,
        span: Option<Range<usize>>,
        config: &mut GitleaksConfig,
    ) -> Result<(), Error> {
        let table = item
            .as_table()
            .ok_or_else(|| self.bad(span, "`extend` must be a table".into()))?;
        for (k, v) in table.iter() {
            let kspan = table.key(k).and_then(|k| k.span());
            match k {
                "useDefault" => {
                    config.use_default = v.as_bool().ok_or_else(|| {
                        self.bad(kspan, "[extend] useDefault must be true or false".into())
                    })?;
                }
                "disabledRules" => {
                    for (id, _) in self.strings(v, kspan, "disabledRules")? {
                        config.disabled.push(our_id(id).to_string());
                    }
                }
                "path" => {}
                _ => {
                    return Err(self.bad(
                        kspan,
                        format!("unknown key extend.{k} (known: useDefault, disabledRules, path)"),
                    ));
                }
            }
        }
        Ok(())
    }

    fn strings<'i>(
        &self,
        item: &'i Item,
        span: Option<Range<usize>>,
        name: &str,
    ) -> Result<Vec<Spanned<&'i str>>, Error> {
        let list = item
            .as_array()
            .ok_or_else(|| self.bad(span.clone(), format!("`{name}` must be a list of strings")))?;
        list.iter()
            .map(|v| {
                v.as_str().map(|s| (s, v.span())).ok_or_else(|| {
                    self.bad(
                        v.span().or(span.clone()),
                        format!("`{name}` must be a list of strings"),
                    )
                })
            })
            .collect()
    }

    fn regexes(
        &self,
        item: &Item,
        span: Option<Range<usize>>,
        name: &str,
    ) -> Result<Vec<Regex>, Error> {
        self.strings(item, span, name)?
            .into_iter()
            .map(|(r, s)| {
                Regex::new(r).map_err(|e| self.bad(s, format!("{name}: invalid regex: {e}")))
            })
            .collect()
    }

    fn allowlist(&self, table: &Table, global: bool) -> Result<Allowlist, Error> {
        let mut a = Allowlist {
            target_rules: Vec::new(),
            all: false,
            paths: Vec::new(),
            regexes: Vec::new(),
            target: Target::Secret,
            stopwords: Vec::new(),
            commits: Vec::new(),
        };
        for (k, v) in table.iter() {
            let kspan = table.key(k).and_then(|k| k.span()).or(table.span());
            let str_of = |what: &str| {
                v.as_str().ok_or_else(|| {
                    self.bad(kspan.clone(), format!("allowlist {what} must be a string"))
                })
            };
            match k {
                "description" => {}
                "condition" => {
                    a.all = match str_of("condition")?.to_ascii_uppercase().as_str() {
                        "AND" => true,
                        "OR" => false,
                        other => {
                            return Err(self.bad(
                                kspan,
                                format!("allowlist condition {other:?}: use OR or AND"),
                            ));
                        }
                    }
                }
                "regexTarget" => {
                    a.target = match str_of("regexTarget")? {
                        "secret" => Target::Secret,
                        "match" => Target::Match,
                        "line" => Target::Line,
                        other => {
                            return Err(self.bad(
                                kspan,
                                format!("regexTarget {other:?}: use secret, match or line"),
                            ));
                        }
                    }
                }
                "paths" => a.paths = self.regexes(v, kspan, "paths")?,
                "regexes" => a.regexes = self.regexes(v, kspan, "regexes")?,
                "stopwords" => {
                    a.stopwords = self
                        .strings(v, kspan, "stopwords")?
                        .into_iter()
                        .map(|(s, _)| s.to_ascii_lowercase())
                        .collect()
                }
                "commits" => {
                    a.commits = self
                        .strings(v, kspan, "commits")?
                        .into_iter()
                        .map(|(s, _)| s.to_string())
                        .collect()
                }
                "targetRules" if global => {
                    a.target_rules = self
                        .strings(v, kspan, "targetRules")?
                        .into_iter()
                        .map(|(s, _)| our_id(s).to_string())
                        .collect()
                }
                _ => {
                    return Err(self.bad(
                        kspan,
                        format!("unknown key {k:?} in an allowlist (known: {ALLOW_KEYS})"),
                    ));
                }
            }
        }
        if a.paths.is_empty()
            && a.regexes.is_empty()
            && a.stopwords.is_empty()
            && a.commits.is_empty()
        {
            return Err(self.bad(
                table.span(),
                "an allowlist needs paths, regexes, stopwords or commits".into(),
            ));
        }
        Ok(a)
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
        let string = |k: &str| -> Result<Option<String>, Error> {
            table.get(k).map_or(Ok(None), |item| {
                item.as_str().map(|s| Some(s.to_string())).ok_or_else(|| {
                    self.bad(key_span(k), format!("rule key {k:?} must be a string"))
                })
            })
        };
        let id =
            string("id")?.ok_or_else(|| self.bad(header.clone(), "a rule needs an `id`".into()))?;
        let description = string("description")?.unwrap_or_else(|| id.clone());
        let path = string("path")?
            .map(|p| {
                Regex::new(&p).map_err(|e| {
                    self.bad(
                        key_span("path"),
                        format!("rule {id:?}: invalid path regex: {e}"),
                    )
                })
            })
            .transpose()?;
        let regex_text = string("regex")?;
        if regex_text.is_none() && path.is_none() {
            return Err(self.bad(
                header.clone(),
                format!("rule {id:?} needs a `regex` or a `path`"),
            ));
        }
        let regex_text = regex_text.unwrap_or_default();
        let regex = Regex::new(&regex_text)
            .map_err(|e| self.bad(key_span("regex"), format!("rule {id:?}: invalid regex (gitleaks regexes must also be valid Rust regexes): {e}")))?;
        let group = match table.get("secretGroup") {
            None => SecretGroup::FirstOrWhole,
            Some(item) => {
                let n = item
                    .as_integer()
                    .filter(|&n| n >= 0 && (n as usize) < regex.captures_len())
                    .ok_or_else(|| {
                        self.bad(
                            key_span("secretGroup"),
                            format!(
                                "rule {id:?}: secretGroup must name one of the regex's {} groups",
                                regex.captures_len() - 1
                            ),
                        )
                    })?;
                SecretGroup::Index(n as usize)
            }
        };
        let entropy = match table.get("entropy") {
            None => None,
            Some(item) => Some(
                item.as_float()
                    .or_else(|| item.as_integer().map(|i| i as f64))
                    .filter(|v| (0.0..=8.0).contains(v))
                    .ok_or_else(|| {
                        self.bad(
                            key_span("entropy"),
                            format!("rule {id:?}: entropy is bits per character, 0 to 8"),
                        )
                    })?,
            )
            .filter(|&e| e > 0.0),
        };
        let keywords: Vec<&'static str> = match table.get("keywords") {
            None => Vec::new(),
            Some(item) => self
                .strings(item, key_span("keywords"), "keywords")?
                .into_iter()
                .map(|(k, _)| leak(k.to_string()))
                .collect(),
        };
        let mut allowlists = Vec::new();
        for k in ["allowlist", "allowlists"] {
            if let Some(item) = table.get(k) {
                for t in self.tables(item, key_span(k), k)? {
                    allowlists.push(self.allowlist(t, false)?);
                }
            }
        }
        let rule: &'static Rule = Box::leak(Box::new(Rule {
            id: leak(id),
            provider: "(gitleaks config)",
            description: leak(description),
            doc: "",
            anchors: Box::leak(keywords.into_boxed_slice()),
            regex: leak(regex_text),
            before: 256,
            after: 256,
            multiline: false,
            check: Check::None,
            entropy,
            confidence: Confidence::High,
            examples: &[],
            counter_examples: &[],
        }));
        Ok(UserRule {
            rule,
            regex,
            allow: Vec::new(),
            group,
            path,
            allowlists,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<GitleaksConfig, String> {
        Parser {
            path: Path::new(".gitleaks.toml"),
            text,
        }
        .parse()
        .map_err(|e| e.to_string())
    }

    fn subject<'a>(secret: &'a str, line: &'a str, commit: Option<&'a str>) -> Subject<'a> {
        Subject {
            rule: "generic-secret",
            path: "src/app.py",
            secret,
            matched: secret,
            line,
            commit,
        }
    }

    #[test]
    fn allowlists_by_commit_stopword_and_condition() {
        let c = parse(
            "[[allowlists]]\ncommits = [\"abc123\"]\n\n[[allowlists]]\ncondition = \"AND\"\npaths = ['''\\.py$''']\nregexTarget = \"line\"\nregexes = ['''# test''']\n\n[[allowlists]]\nstopwords = [\"Dummy\"]\ntargetRules = [\"generic-api-key\"]\n",
        )
        .unwrap();
        let covered = |s: &Subject| c.allowlists.iter().any(|a| a.covers(s));
        assert!(covered(&subject(
            "Vq8#rT2!mZ6pLw",
            "x = 1",
            Some("abc123ff")
        )));
        assert!(!covered(&subject(
            "Vq8#rT2!mZ6pLw",
            "x = 1",
            Some("def456")
        )));
        assert!(!covered(&subject("Vq8#rT2!mZ6pLw", "x = 1", None)));
        assert!(covered(&subject("Vq8#rT2!mZ6pLw", "x = 1 # test", None)));
        assert!(covered(&subject("dummyVq8#rT2!mZ6pLw", "x = 1", None)));
    }

    #[test]
    fn mistakes_name_the_line() {
        let cases = [
            (
                "[[rules]]\nid = \"a\"\nregex = 'x'\nverify = 1\n",
                ".gitleaks.toml:4: unknown key \"verify\"",
            ),
            (
                "[[rules]]\nid = \"a\"\n",
                ".gitleaks.toml:1: rule \"a\" needs a `regex` or a `path`",
            ),
            (
                "[[rules]]\nid = \"a\"\nregex = 'x'\nsecretGroup = 2\n",
                ".gitleaks.toml:4: rule \"a\": secretGroup",
            ),
            (
                "[allowlist]\ndescription = \"d\"\n",
                ".gitleaks.toml:1: an allowlist needs",
            ),
            (
                "[extend]\nuseDefault = \"yes\"\n",
                ".gitleaks.toml:2: [extend] useDefault",
            ),
        ];
        for (text, want) in cases {
            let err = parse(text).err().unwrap_or_else(|| panic!("{text} parsed"));
            assert!(err.starts_with(want), "{text:?}: {err}");
        }
    }
}
