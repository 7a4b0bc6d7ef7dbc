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
    if empty_others {
        return;
    }
    let flat = metadata::unflatten(&metadata::flatten(&typed.to_meta()));
    let again = metadata::Metadata::from_meta(&flat).expect("flattened metadata reads back");
    assert!(
        again == typed,
        "metadata changed through flatten and unflatten"
    );
});
