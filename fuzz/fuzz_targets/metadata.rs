//! The metadata block, as each format stores it: read from a document (YAML and JSON nest it,
//! dotenv and INI flatten it), typed, then written back and read again to the same value.
#![no_main]

use secrets::document::{self, Format, metadata};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let format = match first % 4 {
        0 => Format::Yaml,
        1 => Format::Json,
        2 => Format::Dotenv,
        _ => Format::Ini,
    };
    let Ok(doc) = document::parse(format, rest) else {
        return;
    };
    let Some(meta) = doc.metadata() else {
        return;
    };
    let _ = metadata::unflatten(&metadata::flatten(meta));
    let Ok(typed) = metadata::Metadata::from_meta(meta) else {
        return;
    };
    let _ = typed.looks_encrypted();
    // A key group without keys has no spelling of its own (it reads back as no group).
    if typed
        .key_groups
        .iter()
        .any(|g| g.age.is_empty() && g.others.is_empty())
    {
        return;
    }
    // An empty list of another tool's keys (`hc_vault: []`) holds no key: the flat form of
    // dotenv and INI has no spelling for it, as in sops, and nothing is lost.
    let empty_others = typed.key_groups.iter().any(|g| {
        g.others.iter().any(|(_, v)| {
            matches!(v, metadata::MetaValue::List(l) if l.is_empty())
                || matches!(v, metadata::MetaValue::Map(m) if m.is_empty())
        })
    });
    let again = metadata::Metadata::from_meta(&typed.to_meta()).expect("our metadata reads back");
    assert!(
        again == typed,
        "metadata changed on a write and read:\n{typed:?}\n{again:?}"
    );
    // Neither can it spell a mapping that repeats a key (go-yaml, and so sops, refuses those),
    // nor tell a newline from a literal `\n` (the flat form escapes newlines without escaping
    // backslashes, as sops's dotenv store does).
    if empty_others || has_duplicate_keys(meta) || has_backslash(meta) {
        return;
    }
    // The flat form of dotenv and INI holds strings only (as in sops): another tool's key
    // entries come back with their scalars as strings. What must hold is that the flat text
    // we write reads back to the same flat text, and that our own fields keep their types.
    let flat_text = metadata::flatten(&typed.to_meta());
    let again = metadata::Metadata::from_meta(&metadata::unflatten(&flat_text))
        .expect("flattened metadata reads back");
    assert!(
        metadata::flatten(&again.to_meta()) == flat_text,
        "metadata changed through flatten and unflatten"
    );
    assert!(
        again.shamir_threshold == typed.shamir_threshold
            && again.lastmodified == typed.lastmodified
            && again.mac == typed.mac
            && again.rule == typed.rule
            && again.mac_only_encrypted == typed.mac_only_encrypted
            && again.version == typed.version
            && again.key_groups.iter().map(|g| &g.age).eq(typed.key_groups.iter().map(|g| &g.age)),
        "metadata fields changed through flatten and unflatten"
    );
});

fn has_duplicate_keys(value: &metadata::MetaValue) -> bool {
    match value {
        metadata::MetaValue::Map(pairs) => {
            let mut seen = std::collections::HashSet::new();
            pairs.iter().any(|(k, v)| !seen.insert(k) || has_duplicate_keys(v))
        }
        metadata::MetaValue::List(items) => items.iter().any(has_duplicate_keys),
        _ => false,
    }
}

fn has_backslash(value: &metadata::MetaValue) -> bool {
    match value {
        metadata::MetaValue::Str(s) => s.contains('\\'),
        metadata::MetaValue::Map(pairs) => pairs.iter().any(|(k, v)| k.contains('\\') || has_backslash(v)),
        metadata::MetaValue::List(items) => items.iter().any(has_backslash),
        _ => false,
    }
}
