//! The ini adapter: parse, render with every leaf replaced, tree view, encrypt/decrypt identity.
#![no_main]

#[path = "common.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    common::check_document(secrets::document::Format::Ini, data);
});
