//! `.secrets-scan.toml`: parsing never panics, and a parsed allowlist answers for any path.
#![no_main]

use std::path::Path;

use secrets::scan::ScanConfig;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(config) = ScanConfig::parse(text, Path::new("/repo/.secrets-scan.toml")) else {
        return;
    };
    for target in ["/repo/a/b.txt", "/repo/.env", "relative/x", "/elsewhere/y"] {
        let _ = config.allows(Path::new(target));
    }
});
