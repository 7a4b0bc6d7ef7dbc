//! The key-path syntax (`["a"][0]['b']`): parsing never panics, and a parsed path written back
//! in canonical form parses to the same steps (where the syntax can spell its keys).
#![no_main]

use secrets::document::tree;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(steps) = tree::parse_path(text) else {
        return;
    };
    // A key with a control character, or with both quotes, has no spelling in the syntax.
    let expressible = steps.iter().all(|s| match s {
        tree::PathStep::Key(k) => {
            !k.chars().any(char::is_control) && !(k.contains('"') && k.contains('\''))
        }
        tree::PathStep::Index(_) => true,
    });
    if !expressible {
        return;
    }
    let canonical = tree::format_steps(&steps);
    let again = tree::parse_path(&canonical).expect("a canonical path parses");
    assert!(again == steps, "{canonical}");
});
