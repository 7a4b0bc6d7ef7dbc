//! `.sops.yaml`: parsing never panics, and a parsed config answers which rule matches a path.
#![no_main]

use std::path::Path;

use secrets::config::Config;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(config) = Config::parse(text, Path::new("/repo/.sops.yaml")) else {
        return;
    };
    for target in [
        "/repo/secrets/prod.yaml",
        "/repo/a.env",
        "/elsewhere/x.json",
    ] {
        let _ = config.rule_for(Path::new(target));
    }
});
