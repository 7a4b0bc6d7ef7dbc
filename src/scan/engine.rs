//! The matcher: an Aho-Corasick prefilter over the rules' literal anchors, then each hit rule's
//! regex on a bounded window around the hit.

use std::collections::HashSet;
use std::ops::Range;
use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::Regex;

use super::rules::{self, Candidate, Confidence, Rule};

/// One secret found in a text: which rule, and the byte range of the secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hit {
    pub rule: usize,
    pub span: Range<usize>,
    /// Where the finding points: the secret's first byte, or for a multi-line rule (a PEM
    /// key) the start of the match (its `-----BEGIN` line).
    pub at: usize,
    /// The rule's confidence, lowered for a generic value the gate has doubts about.
    pub confidence: Confidence,
}

/// A rule from the user's `.secrets-scan.toml`: checks that built-in rules keep in code.
pub struct UserRule {
    /// The rule, leaked once per process so that findings can name it like a built-in one.
    pub rule: &'static Rule,
    /// The rule's regex, its secret in the capture group `s`.
    pub regex: Regex,
    /// A candidate matching one of these is not a finding.
    pub allow: Vec<Regex>,
}

/// The compiled rules.
pub struct Engine {
    prefilter: AhoCorasick,
    /// For each prefilter pattern, the rule it anchors.
    pattern_rule: Vec<usize>,
    rules: Vec<&'static Rule>,
    /// Compiled when the rule's anchor first hits: compiling every built-in regex up front
    /// (Unicode classes) would cost most of the start-up time of a small scan.
    regexes: Vec<OnceLock<Regex>>,
    /// Per rule: the allowlist of a user rule.
    custom: Vec<Option<Vec<Regex>>>,
}

impl Engine {
    /// The built-in rules.
    pub fn new() -> Engine {
        Engine::with_rules(Vec::new())
    }

    /// The user's rules, then the built-in ones (on the same text, the earlier rule wins).
    pub fn with_rules(user: Vec<UserRule>) -> Engine {
        let mut rules: Vec<&'static Rule> = Vec::new();
        let mut regexes = Vec::new();
        let mut custom = Vec::new();
        for u in user {
            rules.push(u.rule);
            regexes.push(OnceLock::from(u.regex));
            custom.push(Some(u.allow));
        }
        for r in rules::builtin() {
            rules.push(r);
            regexes.push(OnceLock::new());
            custom.push(None);
        }
        let mut patterns = Vec::new();
        let mut pattern_rule = Vec::new();
        for (i, rule) in rules.iter().enumerate() {
            for anchor in rule.anchors.iter() {
                patterns.push(*anchor);
                pattern_rule.push(i);
            }
        }
        let prefilter = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .build(&patterns)
            .expect("the rules' anchors form a valid automaton");
        Engine {
            prefilter,
            pattern_rule,
            rules,
            regexes,
            custom,
        }
    }

    pub fn rule(&self, i: usize) -> &'static Rule {
        self.rules[i]
    }

    fn regex(&self, i: usize) -> &Regex {
        self.regexes[i]
            .get_or_init(|| Regex::new(self.rules[i].regex).expect("built-in rules compile"))
    }

    /// Every secret in `text`, in order of position; one hit per secret (the first rule wins).
    pub fn scan(&self, text: &str) -> Vec<Hit> {
        let bytes = text.as_bytes();
        let mut hits: Vec<Hit> = Vec::new();
        let mut seen: HashSet<(usize, usize, usize)> = HashSet::new();
        // Per rule, the end of the last window searched: overlapping anchor hits on one line
        // (a keyword-dense minified file) do not search the same bytes again.
        let mut searched_to = vec![0usize; self.rules.len()];
        for m in self.prefilter.find_overlapping_iter(text) {
            let ri = self.pattern_rule[m.pattern().as_usize()];
            let rule = self.rules[ri];
            // Look back at most `before` bytes for the line start: on a minified file (one long
            // line) each hit costs a bounded amount of work.
            let lookback = m.start().saturating_sub(rule.before);
            let mut start = memchr::memrchr(b'\n', &bytes[lookback..m.start()])
                .map_or(lookback, |i| lookback + i + 1);
            if start < searched_to[ri] && m.end() <= searched_to[ri] {
                continue;
            }
            start = floor_char(text, start);
            let mut end = (m.end() + rule.after).min(bytes.len());
            if !rule.multiline
                && let Some(nl) = memchr::memchr(b'\n', &bytes[m.end()..end])
            {
                end = m.end() + nl;
            }
            end = ceil_char(text, end);
            searched_to[ri] = end;
            let window = &text[start..end];
            for caps in self.regex(ri).captures_iter(window) {
                let (group, quoted) = if let Some(g) = caps.name("dq").or(caps.name("sq")) {
                    (g, true)
                } else if let Some(g) = caps.name("s") {
                    (g, false)
                } else {
                    continue;
                };
                let mut group_end = group.end();
                if !quoted && rule.check == rules::Check::Generic {
                    // `f(token=request.key):`: closing punctuation ends the value.
                    let trimmed = group
                        .as_str()
                        .trim_end_matches([')', ']', '}', ':', '.', ',']);
                    group_end = group.start() + trimmed.len();
                }
                let value = &window[group.start()..group_end];
                let value = if rule.multiline { value.trim() } else { value };
                let whole = caps.get(0).expect("group 0 is the match");
                let candidate = Candidate {
                    value,
                    quoted,
                    matched: whole.as_str(),
                    rest: if quoted || rule.check != rules::Check::Generic {
                        &window[whole.end()..]
                    } else {
                        &window[group_end..]
                    },
                    user: caps.name("u").map(|u| u.as_str()),
                    key: caps.name("k").map(|k| k.as_str()),
                    op: caps.name("op").map(|o| o.as_str()),
                    preceding: window[..whole.start()].chars().next_back(),
                };
                let Some(confidence) = rules::check(rule, &candidate) else {
                    continue;
                };
                if let Some(allow) = &self.custom[ri]
                    && allow.iter().any(|a| a.is_match(value))
                {
                    continue;
                }
                let abs = start + group.start()..start + group_end;
                if !seen.insert((ri, abs.start, abs.end)) {
                    continue;
                }
                hits.push(Hit {
                    rule: ri,
                    at: if rule.multiline {
                        start + whole.start()
                    } else {
                        abs.start
                    },
                    span: abs,
                    confidence,
                });
            }
        }
        // A provider rule and the generic rule may both report one secret: keep the first rule
        // (providers come first) for any overlapping pair.
        hits.sort_by_key(|h| (h.span.start, h.rule));
        let mut kept: Vec<Hit> = Vec::with_capacity(hits.len());
        for h in hits {
            if let Some(prev) = kept.iter_mut().rev().find(|p| overlaps(&p.span, &h.span)) {
                if h.rule < prev.rule {
                    *prev = h;
                }
                continue;
            }
            kept.push(h);
        }
        kept
    }
}

impl Default for Engine {
    fn default() -> Self {
        Engine::new()
    }
}

fn overlaps(a: &Range<usize>, b: &Range<usize>) -> bool {
    a.start < b.end && b.start < a.end
}

fn floor_char(text: &str, mut i: usize) -> usize {
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil_char(text: &str, mut i: usize) -> usize {
    while !text.is_char_boundary(i) {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(text: &str) -> Vec<&'static str> {
        let e = Engine::new();
        e.scan(text).iter().map(|h| e.rule(h.rule).id).collect()
    }

    #[test]
    fn provider_beats_generic() {
        let t = "SLACK_BOT_TOKEN=xoxb-2048613351-8312917750-Zq7xR4mT9kLp2VwY8sNc3dFe\n";
        assert_eq!(ids(t), ["slack-token"]);
    }

    #[test]
    fn encrypted_values_are_not_findings() {
        let t =
            "password: ENC[AES256_GCM,data:Zm9vYmFy,iv:aXZpdml2aXZpdml2,tag:dGFndGFn,type:str]\n";
        assert!(ids(t).is_empty());
    }

    #[test]
    fn doc_example_aws_key_is_not_a_finding() {
        assert!(ids("aws_access_key_id = AKIAIOSFODNN7EXAMPLE\n").is_empty());
        assert_eq!(
            ids("aws_access_key_id = AKIAZ7QW3ERT5YUI2OPL\n"),
            ["aws-access-key-id"]
        );
    }

    #[test]
    fn type_annotations_are_not_values() {
        assert!(
            ids("pub const TOKEN_X: Win32Error9 = 5;\nfn f(token: TokenTree9x) {}\n").is_empty()
        );
        assert_eq!(ids("token: Xk29dkLmQ2xxPq\n"), ["generic-secret"]);
    }

    #[test]
    fn long_lines_are_bounded() {
        let mut t = "password=x; ".repeat(20_000);
        t.push_str("db_password = \"Vq8#rT2!mZ6pLw\"");
        assert_eq!(ids(&t), ["generic-secret"]);
    }
}
